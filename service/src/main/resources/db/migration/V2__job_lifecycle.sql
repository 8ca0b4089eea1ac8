-- The job lifecycle: attempts and restarts, resources, progress, reproducing command lines, idempotent submission.
-- Portable to H2 and PostgreSQL: one column per ALTER statement, types both know.
ALTER TABLE jobs ADD COLUMN command_lines VARCHAR(16384) DEFAULT '' NOT NULL;
ALTER TABLE jobs ADD COLUMN idempotency_key VARCHAR(255);
ALTER TABLE jobs ADD COLUMN attempt INTEGER DEFAULT 0 NOT NULL;
ALTER TABLE jobs ADD COLUMN recoveries INTEGER DEFAULT 0 NOT NULL;
ALTER TABLE jobs ADD COLUMN gpu_ids VARCHAR(1024);
ALTER TABLE jobs ADD COLUMN started_at TIMESTAMP WITH TIME ZONE;
ALTER TABLE jobs ADD COLUMN finished_at TIMESTAMP WITH TIME ZONE;

-- Progress of the latest reported step (JobProgress).
ALTER TABLE jobs ADD COLUMN stage INTEGER;
ALTER TABLE jobs ADD COLUMN stages INTEGER;
ALTER TABLE jobs ADD COLUMN step BIGINT;
ALTER TABLE jobs ADD COLUMN total_steps BIGINT;
ALTER TABLE jobs ADD COLUMN tokens BIGINT;
ALTER TABLE jobs ADD COLUMN loss DOUBLE PRECISION;
ALTER TABLE jobs ADD COLUMN tokens_per_second DOUBLE PRECISION;
ALTER TABLE jobs ADD COLUMN mfu DOUBLE PRECISION;
ALTER TABLE jobs ADD COLUMN peak_memory_bytes BIGINT;
ALTER TABLE jobs ADD COLUMN estimated_finish_at TIMESTAMP WITH TIME ZONE;

-- A retried submission finds its job by key; several NULLs are allowed by both databases.
CREATE UNIQUE INDEX jobs_idempotency_key_uq ON jobs (idempotency_key);
-- The scheduler reads the queue by state, then priority and age; the list filters by state and kind.
CREATE INDEX jobs_state_idx ON jobs (state, priority, created_at);
CREATE INDEX jobs_kind_created_at_idx ON jobs (kind, created_at);
