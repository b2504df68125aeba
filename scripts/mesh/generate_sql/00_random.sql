-- Deterministic pseudo-random numbers: a hash of (row key, purpose, seed).
-- Unlike random(), these do not depend on thread scheduling, so the same seed and
-- scale always give byte-identical landing files.
create or replace macro rnd(k, salt) as
    (hash(k, salt, getvariable('seed')) % 1000000007)::double / 1000000007;

-- An integer in [0, n).
create or replace macro pick(k, salt, n) as
    (hash(k, salt, getvariable('seed')) % n)::bigint;

-- The operational systems' clock stops here: every export is "as of" this instant.
create or replace macro export_time() as timestamp '2026-06-30 23:00:00';
