-- CRM export of the customers domain: one row per customer record version, written by
-- the first export only (later exports carry orders and their fulfillment).
create schema customers;

-- range() yields its rows on one thread; a table's scan spreads the work over every core.
create temp table customer_ids as
select customer_id from range(1, getvariable('n_customers') + 1) as ids(customer_id);

-- The lists of names and places are literals: DuckDB folds a literal list into one constant,
-- where a list from a joined row would be looked up again for every customer (ten times slower).
create view customers.customers as
with base as (
    select
        customer_id,
        ['Ada', 'Ben', 'Chloe', 'Dmitri', 'Elif', 'Farah', 'Gustavo', 'Hana', 'Ivan', 'Jia',
            'Kofi', 'Lena', 'Mateo', 'Nora', 'Omar', 'Priya', 'Quinn', 'Rosa', 'Sven', 'Tariq',
            'Uma', 'Viktor', 'Wen', 'Yara'][1 + pick(customer_id, 'first', 24)] as first_name,
        ['Almeida', 'Brown', 'Chen', 'Dubois', 'Eriksen', 'Fischer', 'Garcia', 'Haddad', 'Ito',
            'Jensen', 'Kowalski', 'Lopez', 'Murphy', 'Nakamura', 'Okafor', 'Patel', 'Rossi',
            'Silva', 'Tanaka', 'Novak'][1 + pick(customer_id, 'last', 20)] as last_name,
        pick(customer_id, 'place', 14) as place_no,
        (1 + pick(customer_id, 'house', 400))::varchar || ' '
        || ['Main St', 'Oak Ave', 'Harbour Rd', 'Linden Str', 'Rue Verte', 'Calle Mayor',
            'Maple Dr', 'Station Rd', 'Canal St', 'Hill Lane'][1 + pick(customer_id, 'street', 10)]
            as street_address,
        case when rnd(customer_id, 'phone_null') < 0.25 then null
            else '+1-555-' || lpad(pick(customer_id, 'phone', 10000000)::varchar, 7, '0')
        end as phone,
        case when rnd(customer_id, 'segment') < 0.2 then null
            when rnd(customer_id, 'segment2') < 0.3 then 'business'
            else 'consumer'
        end as segment,
        timestamp '2023-01-01' + to_seconds(pick(customer_id, 'signup', 86400 * 540)) as signed_up_at
    from customer_ids
),

-- Some customers moved: the CRM exports their record a second time, later, with a new city.
versions as (
    select *, 1 as version_no, signed_up_at as updated_at from base
    union all
    select
        * replace ((place_no + 1 + pick(customer_id, 'moved_to', 13)) % 14 as place_no),
        2 as version_no,
        signed_up_at + to_seconds(86400 + pick(customer_id, 'moved_at', 86400 * 300)) as updated_at
    from base
    where rnd(customer_id, 'moved') < 0.08
),

shaped as (
    select
        customer_id,
        first_name,
        last_name,
        -- Web forms capture emails in any case, with stray blanks around them.
        case
            when rnd(customer_id * 10 + version_no, 'email_pad') < 0.1
                then '  ' || email || ' '
            else email
        end as email,
        phone,
        street_address,
        place.city,
        place.region,
        place.country_code,
        segment,
        signed_up_at,
        updated_at,
        export_to() as exported_at
    from (
        select
            *,
            case
                when rnd(customer_id * 10 + version_no, 'email_case') < 0.15
                    then upper(first_name) || '.' || last_name || customer_id::varchar || '@Example.COM'
                else lower(first_name) || '.' || lower(last_name) || customer_id::varchar || '@example.com'
            end as email,
            [
                {'city': 'Seattle', 'region': 'North America', 'country_code': 'US'},
                {'city': 'Austin', 'region': 'North America', 'country_code': 'US'},
                {'city': 'Toronto', 'region': 'North America', 'country_code': 'CA'},
                {'city': 'Chicago', 'region': 'North America', 'country_code': 'US'},
                {'city': 'Berlin', 'region': 'Europe', 'country_code': 'DE'},
                {'city': 'Lyon', 'region': 'Europe', 'country_code': 'FR'},
                {'city': 'Madrid', 'region': 'Europe', 'country_code': 'ES'},
                {'city': 'Utrecht', 'region': 'Europe', 'country_code': 'NL'},
                {'city': 'Tokyo', 'region': 'Asia Pacific', 'country_code': 'JP'},
                {'city': 'Sydney', 'region': 'Asia Pacific', 'country_code': 'AU'},
                {'city': 'Singapore', 'region': 'Asia Pacific', 'country_code': 'SG'},
                {'city': 'Sao Paulo', 'region': 'Latin America', 'country_code': 'BR'},
                {'city': 'Mexico City', 'region': 'Latin America', 'country_code': 'MX'},
                {'city': 'Bogota', 'region': 'Latin America', 'country_code': 'CO'}
            ][place_no + 1] as place
        from versions
    )
)

select * from shaped
-- The CRM's export job re-delivers a few rows it already sent.
union all
select * from shaped where rnd(hash(customer_id, updated_at), 'redelivered') < 0.03;
