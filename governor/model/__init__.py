"""The governor's nouns: the snapshot a sweep reads, actions, change kinds and findings.

Why one folder, with no re-exports: they form one model that every stage reads, and a
package that imported its modules here would tie them into one import knot.
"""
