-- CSV cell escaping for streamed report exports: a cell starting with =, +, -, @, tab or CR gets a leading '.
-- Re-applied by every `backinstock migrate` (shared_models/migrations.py).
CREATE OR REPLACE FUNCTION report_csv_cell(value text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT CASE WHEN left(value, 1) IN ('=', '+', '-', '@', E'\t', E'\r') THEN '''' || value ELSE value END
$function$;
