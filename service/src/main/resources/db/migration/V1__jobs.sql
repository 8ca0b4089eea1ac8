-- Jobs submitted to the service.
-- Only types that H2 (default mode) and PostgreSQL both know, so that one script serves both databases.
-- The spec is JSON kept as VARCHAR, not TEXT/CLOB/JSONB: those differ between the two, and Hibernate maps a
-- String to VARCHAR on both. Its bound leaves room for the longest valid spec (paths are capped at 1024 chars).
-- kind and state are enum names in VARCHAR without CHECK lists, so that new states need no migration.
-- Progress and results will come as columns or tables of later migrations.
CREATE TABLE jobs (
    id         UUID                     NOT NULL,
    kind       VARCHAR(32)              NOT NULL,
    state      VARCHAR(32)              NOT NULL,
    reason     VARCHAR(64),
    message    VARCHAR(4096),
    priority   INTEGER                  NOT NULL,
    gpus       INTEGER                  NOT NULL,
    spec       VARCHAR(16384)           NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    version    BIGINT                   NOT NULL,
    CONSTRAINT jobs_pk PRIMARY KEY (id),
    CONSTRAINT jobs_gpus_not_negative CHECK (gpus >= 0)
);

-- GET /api/jobs lists the newest first.
CREATE INDEX jobs_created_at_idx ON jobs (created_at);
