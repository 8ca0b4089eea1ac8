-- Progress in units every kind has: optimizer steps, needle cells or perplexity lengths done of the total (JobProgress).
ALTER TABLE jobs ADD COLUMN progress_done BIGINT;
ALTER TABLE jobs ADD COLUMN progress_total BIGINT;
ALTER TABLE jobs ADD COLUMN progress_unit VARCHAR(16);
