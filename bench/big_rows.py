"""Rows that look like a busy payment center's history, loaded with SQL (generate_series) for
bench/big_tables.py: orders, their payments, channel transactions and refunds, one event and one
audit row per order.

Row n of every table belongs to order n: created over the 90 days before now, a fifth of them
the demo merchant's (the merchant the bench drives) and the rest spread over 100 others, on four
channels, in two currencies; 70 % paid, 5 % refunded, the rest closed, and one in 2,000 still
PAYING past its order's deadline and flagged by the checks (the stuck list). No row has a check
due: the bench runs no job cluster, and nothing it loads should be worked on meanwhile.
Loaded events carry transaction ids below any the server has used (a young server has not run a
million transactions): only their order matters to the feed, and it is the order of n.
"""

import psycopg
from psycopg import sql

MERCHANTS = 100
CHUNK = 100_000  # rows per transaction

# Functions of n, in pg_temp: this connection's own, gone with it.
FUNCTIONS = """
CREATE FUNCTION pg_temp.big_id(prefix text, n bigint) RETURNS text IMMUTABLE
    LANGUAGE sql AS $$ SELECT prefix || '_' || substr(md5(prefix || n), 1, 24) $$;
CREATE FUNCTION pg_temp.big_merchant(n bigint) RETURNS text IMMUTABLE
    LANGUAGE sql AS $$ SELECT CASE WHEN mod(n, 5) = 0 THEN {demo_merchant}
                              ELSE 'mch_bench' || lpad(mod(n, {merchants})::text, 3, '0') END $$;
CREATE FUNCTION pg_temp.big_status(n bigint) RETURNS text IMMUTABLE
    LANGUAGE sql AS $$ SELECT CASE WHEN mod(n, 2000) = 7 THEN 'PAYING'
                                   WHEN mod(n, 1000) < 700 THEN 'PAID'
                                   WHEN mod(n, 1000) < 750 THEN 'REFUNDED'
                                   ELSE 'CLOSED' END $$;
CREATE FUNCTION pg_temp.big_paid(n bigint) RETURNS boolean IMMUTABLE
    LANGUAGE sql AS $$ SELECT pg_temp.big_status(n) IN ('PAID', 'REFUNDED') $$;
CREATE FUNCTION pg_temp.big_created(n bigint) RETURNS timestamptz STABLE
    LANGUAGE sql AS $$ SELECT now() - interval '90 days' + n * interval '7.776 seconds' $$;
CREATE FUNCTION pg_temp.big_amount(n bigint) RETURNS bigint IMMUTABLE
    LANGUAGE sql AS $$ SELECT 100 + mod(n * 7919, 50000) $$;
CREATE FUNCTION pg_temp.big_currency(n bigint) RETURNS text IMMUTABLE
    LANGUAGE sql AS $$ SELECT CASE WHEN mod(n, 10) = 3 THEN 'USD' ELSE 'CNY' END $$;
CREATE FUNCTION pg_temp.big_channel(n bigint) RETURNS text IMMUTABLE
    LANGUAGE sql AS $$
    SELECT (ARRAY['sandbox', 'sandbox_card', 'wechatpay', 'alipay'])[1 + mod(n, 4)] $$;
"""

MERCHANTS_SQL = """
INSERT INTO orders_merchant (id, name, api_key_hash, webhook_url, webhook_secret,
    webhook_secret_previous, is_active, created_at)
SELECT 'mch_bench' || lpad(m::text, 3, '0'), 'Bench shop ' || m, md5('key' || m) || md5('k' || m),
    'https://shop' || m || '.example/hooks', md5('secret' || m), '', true, now() - interval '1 year'
FROM generate_series(0, {merchants} - 1) AS m
"""

# Each over n in [%(start)s, %(stop)s]: "FROM generate_series(...) AS n" is appended.
TABLES = {
    "orders_order": """
INSERT INTO orders_order (id, merchant_id, merchant_order_no, amount, currency, subject,
    return_url, status, paid_payment_id, refunded_amount, expires_at, paid_at, closed_at,
    created_at, updated_at)
SELECT pg_temp.big_id('ord', n), pg_temp.big_merchant(n), 'SO' || n, pg_temp.big_amount(n),
    pg_temp.big_currency(n), 'Order ' || n, '', pg_temp.big_status(n),
    CASE WHEN pg_temp.big_paid(n) THEN pg_temp.big_id('pay', n) END,
    CASE WHEN pg_temp.big_status(n) = 'REFUNDED' THEN pg_temp.big_amount(n) ELSE 0 END,
    pg_temp.big_created(n) + interval '30 minutes',
    CASE WHEN pg_temp.big_paid(n) THEN pg_temp.big_created(n) + interval '40 seconds' END,
    CASE WHEN pg_temp.big_status(n) = 'CLOSED' THEN pg_temp.big_created(n) + interval '31 minutes'
    END,
    pg_temp.big_created(n), pg_temp.big_created(n) + interval '31 minutes'
""",
    "payments_payment": """
INSERT INTO payments_payment (id, order_id, channel, client, out_trade_no, amount, currency,
    status, pay_action, channel_trade_no, channel_refs, paid_at, superseded, check_attempts,
    needs_attention, created_at, updated_at)
SELECT pg_temp.big_id('pay', n), pg_temp.big_id('ord', n), pg_temp.big_channel(n),
    CASE WHEN mod(n, 3) = 0 THEN 'mobile' ELSE 'pc' END, 'P' || n, pg_temp.big_amount(n),
    pg_temp.big_currency(n),
    CASE WHEN pg_temp.big_paid(n) THEN 'SUCCEEDED' ELSE pg_temp.big_status(n) END,
    jsonb_build_object('type', 'qr', 'qr_content', 'https://pay.example/qr/' || n),
    CASE WHEN pg_temp.big_paid(n) THEN 'T' || n END, jsonb_build_object(),
    CASE WHEN pg_temp.big_paid(n) THEN pg_temp.big_created(n) + interval '40 seconds' END,
    false, CASE WHEN pg_temp.big_paid(n) THEN 0 ELSE 4 END, pg_temp.big_status(n) = 'PAYING',
    pg_temp.big_created(n) + interval '5 seconds', pg_temp.big_created(n) + interval '41 seconds'
""",
    "payments_channeltransaction": """
INSERT INTO payments_channeltransaction (channel, channel_trade_no, out_trade_no, payment_id,
    amount, currency, status, paid_at, source, raw, paid_order, created_at)
SELECT pg_temp.big_channel(n), 'T' || n, 'P' || n, pg_temp.big_id('pay', n), pg_temp.big_amount(n),
    pg_temp.big_currency(n), 'SUCCEEDED', pg_temp.big_created(n) + interval '40 seconds',
    CASE WHEN mod(n, 50) = 0 THEN 'query' ELSE 'callback' END,
    jsonb_build_object('trade_no', 'T' || n, 'status', 'SUCCESS'), true,
    pg_temp.big_created(n) + interval '41 seconds'
""",
    "payments_refund": """
INSERT INTO payments_refund (id, payment_id, out_refund_no, amount, currency, reason, note, status,
    channel_refund_no, channel_refs, attempts, lease_owner, last_error, needs_attention,
    created_at, updated_at, finished_at)
SELECT pg_temp.big_id('re', n), pg_temp.big_id('pay', n), 'R' || n, pg_temp.big_amount(n),
    pg_temp.big_currency(n), 'MERCHANT_REQUEST', '', 'SUCCEEDED', 'CR' || n, jsonb_build_object(),
    1, '', '', false, pg_temp.big_created(n) + interval '1 day',
    pg_temp.big_created(n) + interval '1 day 5 seconds',
    pg_temp.big_created(n) + interval '1 day 5 seconds'
""",
    "payments_event": """
INSERT INTO payments_event (id, merchant_id, type, payload, created_at, transaction_id)
SELECT pg_temp.big_id('evt', n), pg_temp.big_merchant(n),
    CASE pg_temp.big_status(n) WHEN 'PAID' THEN 'order.paid' WHEN 'REFUNDED' THEN 'order.refunded'
         WHEN 'CLOSED' THEN 'order.closed' ELSE 'payment.failed' END,
    jsonb_build_object('id', pg_temp.big_id('ord', n), 'merchant_order_no', 'SO' || n,
        'status', pg_temp.big_status(n), 'amount', pg_temp.big_amount(n),
        'currency', pg_temp.big_currency(n)),
    pg_temp.big_created(n) + interval '41 seconds', n - 2000000000
""",
    "orders_statuschange": """
INSERT INTO orders_statuschange (entity, entity_id, order_id, from_status, to_status, actor_kind,
    actor_ref, note, created_at)
SELECT 'order', pg_temp.big_id('ord', n), pg_temp.big_id('ord', n), 'PAYING',
    pg_temp.big_status(n), 'CHANNEL_CALLBACK', pg_temp.big_channel(n), '',
    pg_temp.big_created(n) + interval '41 seconds'
""",
}
# Which rows of n each table holds (an order always; a payment's transaction only if it paid).
WHERE = {
    "payments_channeltransaction": "WHERE pg_temp.big_paid(n)",
    "payments_refund": "WHERE pg_temp.big_status(n) = 'REFUNDED'",
}


def load_rows(database_url: str, *, demo_merchant: str, start: int, stop: int) -> None:
    """Rows n = start … stop of every table (the bench merchants first, when start is 1)."""
    names = {"demo_merchant": sql.Literal(demo_merchant), "merchants": sql.Literal(MERCHANTS)}
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(sql.SQL(FUNCTIONS).format(**names))
        if start == 1:
            connection.execute(sql.SQL(MERCHANTS_SQL).format(**names))
        for low in range(start, stop + 1, CHUNK):
            bounds = {"start": low, "stop": min(stop, low + CHUNK - 1)}
            # orders and payments name each other: one transaction (the keys are deferred)
            with connection.transaction():
                for table, insert in TABLES.items():
                    connection.execute(
                        insert
                        + " FROM generate_series(%(start)s::bigint, %(stop)s::bigint) AS n "
                        + WHERE.get(table, ""),
                        bounds,
                    )
        for table in TABLES:
            # the visibility map too: index-only scans skip the heap only on all-visible pages
            connection.execute(f"VACUUM (ANALYZE) {table}")
        # the load's own writes flushed now, not by a checkpoint in the middle of a measurement
        connection.execute("CHECKPOINT")
