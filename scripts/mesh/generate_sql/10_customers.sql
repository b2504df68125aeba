-- CRM export of the customers domain: one row per customer record version, written by
-- the first export only (later exports carry orders and their fulfillment).
create schema customers;

create view customers.customers as
with places(place_no, city, region, country_code) as (
    values
        (0, 'Seattle', 'North America', 'US'),
        (1, 'Austin', 'North America', 'US'),
        (2, 'Toronto', 'North America', 'CA'),
        (3, 'Chicago', 'North America', 'US'),
        (4, 'Berlin', 'Europe', 'DE'),
        (5, 'Lyon', 'Europe', 'FR'),
        (6, 'Madrid', 'Europe', 'ES'),
        (7, 'Utrecht', 'Europe', 'NL'),
        (8, 'Tokyo', 'Asia Pacific', 'JP'),
        (9, 'Sydney', 'Asia Pacific', 'AU'),
        (10, 'Singapore', 'Asia Pacific', 'SG'),
        (11, 'Sao Paulo', 'Latin America', 'BR'),
        (12, 'Mexico City', 'Latin America', 'MX'),
        (13, 'Bogota', 'Latin America', 'CO')
),

place_list as (
    select list({'city': city, 'region': region, 'country_code': country_code} order by place_no)
        as places
    from places
),

first_names as (
    select ['Ada', 'Ben', 'Chloe', 'Dmitri', 'Elif', 'Farah', 'Gustavo', 'Hana', 'Ivan',
        'Jia', 'Kofi', 'Lena', 'Mateo', 'Nora', 'Omar', 'Priya', 'Quinn', 'Rosa', 'Sven',
        'Tariq', 'Uma', 'Viktor', 'Wen', 'Yara'] as names
),

last_names as (
    select ['Almeida', 'Brown', 'Chen', 'Dubois', 'Eriksen', 'Fischer', 'Garcia', 'Haddad',
        'Ito', 'Jensen', 'Kowalski', 'Lopez', 'Murphy', 'Nakamura', 'Okafor', 'Patel',
        'Rossi', 'Silva', 'Tanaka', 'Novak'] as names
),

streets as (
    select ['Main St', 'Oak Ave', 'Harbour Rd', 'Linden Str', 'Rue Verte', 'Calle Mayor',
        'Maple Dr', 'Station Rd', 'Canal St', 'Hill Lane'] as names
),

base as (
    select
        customer_id,
        list_extract(first_names.names, 1 + pick(customer_id, 'first', len(first_names.names)))
            as first_name,
        list_extract(last_names.names, 1 + pick(customer_id, 'last', len(last_names.names)))
            as last_name,
        pick(customer_id, 'place', 14) as place_no,
        (1 + pick(customer_id, 'house', 400))::varchar || ' '
        || list_extract(streets.names, 1 + pick(customer_id, 'street', len(streets.names)))
            as street_address,
        case when rnd(customer_id, 'phone_null') < 0.25 then null
            else '+1-555-' || lpad(pick(customer_id, 'phone', 10000000)::varchar, 7, '0')
        end as phone,
        case when rnd(customer_id, 'segment') < 0.2 then null
            when rnd(customer_id, 'segment2') < 0.3 then 'business'
            else 'consumer'
        end as segment,
        timestamp '2023-01-01' + to_seconds(pick(customer_id, 'signup', 86400 * 540)) as signed_up_at
    from range(1, getvariable('n_customers') + 1) as ids(customer_id),
        first_names, last_names, streets
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
        versions.customer_id,
        versions.first_name,
        versions.last_name,
        -- Web forms capture emails in any case, with stray blanks around them.
        case
            when rnd(customer_id * 10 + version_no, 'email_pad') < 0.1
                then '  ' || email || ' '
            else email
        end as email,
        versions.phone,
        versions.street_address,
        place_list.places[versions.place_no + 1].city as city,
        place_list.places[versions.place_no + 1].region as region,
        place_list.places[versions.place_no + 1].country_code as country_code,
        versions.segment,
        versions.signed_up_at,
        versions.updated_at,
        export_to() as exported_at
    from (
        select
            *,
            case
                when rnd(customer_id * 10 + version_no, 'email_case') < 0.15
                    then upper(first_name) || '.' || last_name || customer_id::varchar || '@Example.COM'
                else lower(first_name) || '.' || lower(last_name) || customer_id::varchar || '@example.com'
            end as email
        from versions
    ) as versions
    -- A one-row list rather than a join: a join's output order varies with the threads.
    cross join place_list
)

select * from shaped
-- The CRM's export job re-delivers a few rows it already sent.
union all
select * from shaped where rnd(customer_id::varchar || updated_at::varchar, 'redelivered') < 0.03;
