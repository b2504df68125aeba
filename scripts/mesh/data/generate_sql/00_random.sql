-- Deterministic pseudo-random numbers: a hash of (row key, purpose, seed).
-- Unlike random(), these do not depend on thread scheduling, so the same seed and
-- scale always give byte-identical landing files. The purpose and seed hash to a constant
-- once per query; each row then hashes one integer, a third of the cost of hashing three
-- values (some hundred million calls at scale 100).
create or replace macro salted(k, salt) as
    hash(xor(k::ubigint, hash(salt, getvariable('seed'))));

create or replace macro rnd(k, salt) as
    (salted(k, salt) % 1000000007)::double / 1000000007;

-- An integer in [0, n).
create or replace macro pick(k, salt, n) as
    (salted(k, salt) % n)::bigint;

-- Columns with a few known values are ENUMs while generated. Parquet stores them as the same
-- text, and the writer takes their dictionary as it is instead of hashing every value: the
-- orders export writes in half the time. `(enum_range(null::t)::t[])[i]` is the i-th value of
-- type t (enum_range lists the values as text; the cast makes them the enum again).

-- One export covers the window (export_from, export_to]: every row carries the instant
-- its system exported it, and only events that happened inside the window. The first
-- export starts with a year of history; `mesh generate --append-days N` writes later ones.
create or replace macro export_from() as getvariable('export_from')::timestamp;
create or replace macro export_to() as getvariable('export_to')::timestamp;
create or replace macro in_export(event_at) as
    event_at > export_from() and event_at <= export_to();

-- Orders are placed at a steady rate from a year before the first export onwards, so an
-- order's id alone decides when it was placed, whichever export writes it.
create or replace macro history_start() as
    getvariable('first_export')::timestamp - interval 365 day;
create or replace macro seconds_per_order() as 86400 * 365 / getvariable('n_orders');
