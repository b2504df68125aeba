-- Product information management (PIM) export of the catalog domain.
create schema catalog;

create view catalog.categories as
select *, export_to() as exported_at from (
    values
        (1, 'Books', 'Media'),
        (2, 'Music', 'Media'),
        (3, 'Laptops', 'Electronics'),
        (4, 'Phones', 'Electronics'),
        (5, 'Audio', 'Electronics'),
        (6, 'Cookware', 'Home'),
        (7, 'Furniture', 'Home'),
        (8, 'Garden', 'Home'),
        (9, 'Running', 'Sports'),
        (10, 'Cycling', 'Sports'),
        (11, 'Toys', 'Kids'),
        (12, 'Baby Care', 'Kids')
) as categories(category_id, category_name, department);

create view catalog.products as
with words as (
    select
        ['Classic', 'Compact', 'Deluxe', 'Eco', 'Pro', 'Smart', 'Ultra', 'Vintage'] as adjectives,
        ['Kit', 'Set', 'Edition', 'Pack', 'Series', 'Bundle'] as nouns
),

base as (
    select
        product_id,
        1 + pick(product_id, 'category', 12) as category_id,
        list_extract(words.adjectives, 1 + pick(product_id, 'adjective', len(words.adjectives)))
            as adjective,
        list_extract(words.nouns, 1 + pick(product_id, 'noun', len(words.nouns))) as noun,
        timestamp '2023-01-01' + to_seconds(pick(product_id, 'created', 86400 * 500)) as created_at
    from range(1, getvariable('n_products') + 1) as ids(product_id), words
)

select
    base.product_id,
    'SKU-' || lpad(base.product_id::varchar, 6, '0') as sku,
    base.adjective || ' ' || categories.category_name || ' ' || base.noun
    || ' ' || (1 + pick(base.product_id, 'model', 90))::varchar as product_name,
    base.category_id,
    case when rnd(base.product_id, 'description_null') < 0.3 then null
        else 'A ' || lower(base.adjective) || ' ' || lower(base.noun) || ' for '
        || lower(categories.category_name) || ' lovers.'
    end as description,
    case when rnd(base.product_id, 'active') < 0.93 then 'Y' else 'N' end as active_flag,
    base.created_at,
    export_to() as exported_at
from base
inner join catalog.categories as categories on base.category_id = categories.category_id;

-- Price list history: every product starts with a price and some are repriced later.
create view catalog.product_prices as
with changes as (
    select
        products.product_id,
        change_no,
        products.created_at::timestamp
        + to_seconds(change_no * (86400 * 30 + pick(products.product_id * 10 + change_no, 'reprice_at', 86400 * 150)))
            as valid_from,
        round(
            (5 + pick(products.product_id, 'base_price', 400) + rnd(products.product_id, 'cents'))
            * (1 + 0.1 * change_no * (rnd(products.product_id * 10 + change_no, 'delta') - 0.4)),
            2
        ) as list_price
    from catalog.products as products,
        range(0, 1 + pick(products.product_id, 'reprices', 3)) as changes(change_no)
),

shaped as (
    select
        product_id * 10 + change_no as price_id,
        product_id,
        list_price::decimal(18, 2) as list_price,
        'USD' as currency_code,
        valid_from,
        export_to() as exported_at
    from changes
)

select * from shaped
union all
select * from shaped where rnd(price_id, 'redelivered') < 0.02;
