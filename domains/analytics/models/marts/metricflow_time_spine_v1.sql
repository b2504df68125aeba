-- One row per calendar day: the days metrics are counted on (MetricFlow's time spine).
-- Covers the shop's history and the years ahead.
{{ shared_macros.calendar_days('2020-01-01', '2035-12-31') }}
