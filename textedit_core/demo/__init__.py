"""Demo mode: the seeder that fills a separate database with 90 days of activity, and the
sample texts the editor offers there.
"""
