-- Distributing the schema by shop on Citus (run once on the coordinator, after
-- `backinstock migrate`). Every tenant table is keyed by shop_id first, so
-- each shop's rows live together on one node and every query the service runs
-- (always `WHERE shop_id = $1`) is routed to a single shard.
-- tests/test_citus_layout.py keeps this file and the schema in step.

-- Small, looked up without a shop id (by domain, by key prefix): copied to every node.
-- Plans are not a table: they are constants in shared_models/plans.py.
SELECT create_reference_table('shops');
SELECT create_reference_table('api_keys');

-- Tenant tables, all co-located with customers.
SELECT create_distributed_table('customers', 'shop_id');
SELECT create_distributed_table('variants', 'shop_id', colocate_with => 'customers');
SELECT create_distributed_table('signups', 'shop_id', colocate_with => 'customers');
SELECT create_distributed_table('jobs', 'shop_id', colocate_with => 'customers');
SELECT create_distributed_table('job_targets', 'shop_id', colocate_with => 'customers');
SELECT create_distributed_table('notifications', 'shop_id', colocate_with => 'customers');
SELECT create_distributed_table('settings', 'shop_id', colocate_with => 'customers');
SELECT create_distributed_table('idempotency_keys', 'shop_id', colocate_with => 'customers');
SELECT create_distributed_table('inventory_levels', 'shop_id', colocate_with => 'customers');
SELECT create_distributed_table('restocks', 'shop_id', colocate_with => 'customers');
SELECT create_distributed_table('webhook_events', 'shop_id', colocate_with => 'customers');
SELECT create_distributed_table('plan_usage', 'shop_id', colocate_with => 'customers');
SELECT create_distributed_table('merchant_alerts', 'shop_id', colocate_with => 'customers');
SELECT create_distributed_table('orders', 'shop_id', colocate_with => 'customers');
SELECT create_distributed_table('order_attributions', 'shop_id', colocate_with => 'customers');
SELECT create_distributed_table('report_signups_daily', 'shop_id', colocate_with => 'customers');
SELECT create_distributed_table('report_variant_demand', 'shop_id', colocate_with => 'customers');
SELECT create_distributed_table('report_notifications_daily', 'shop_id', colocate_with => 'customers');
SELECT create_distributed_table('report_variant_demand_monthly', 'shop_id', colocate_with => 'customers');
SELECT create_distributed_table('report_signup_deltas', 'shop_id', colocate_with => 'customers');
SELECT create_distributed_table('report_notification_deltas', 'shop_id', colocate_with => 'customers');
SELECT create_distributed_table('data_requests', 'shop_id', colocate_with => 'customers');
SELECT create_distributed_table('suppressions', 'shop_id', colocate_with => 'customers');
SELECT create_distributed_table('unsubscribe_links', 'shop_id', colocate_with => 'customers');

-- A group of creates (one shop's) runs where its shop's rows are (one round trip to one node).
SELECT create_distributed_function(
    'signup_create_many(uuid, uuid[], text[], text[], bytea[], uuid[], uuid[], bigint[], bigint[], bigint[],'
    ' text[], text[], text[], text[], text[], text[], text[], text[], text[], boolean[], text[], text[], boolean[],'
    ' text[], text[], integer[], text[], bigint[], boolean[])',
    distribution_arg_name => 'p_shop', colocate_with => 'customers');
