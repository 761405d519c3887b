-- sqlite-workload.sql -- a real program under LD_PRELOAD: the sqlite3 shell.
--
-- Stresses: a real, mostly single-threaded C program's own malloc traffic:
-- SQLite allocates every row buffer, record, cursor, sort run, page-cache
-- page, string result and JSON value with malloc/realloc/free (the Debian
-- build uses the system allocator). An in-memory database of @n rows is
-- built, indexed, aggregated, updated, deleted from, sorted, joined and
-- turned into JSON.
--
-- Idea: the "real program" of the allocator benchmark suites (mimalloc-bench
-- runs redis, lean, sqlite-like loads); this script is our own.
--
-- Parameters: @n (rows), set by bench/run.py with
--   sqlite3 -bail -cmd ".parameter set @n N" :memory: < sqlite-workload.sql
-- Result: the printed lines (compared across allocators by bench/run.py);
-- lines with 'check' print ok or BAD and test invariants known in advance.
PRAGMA cache_size = -65536;
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, name TEXT, body TEXT);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < @n)
INSERT INTO t
  SELECT i, (i * 7919) % 1000, printf('name-%08d', (i * 104729) % @n),
         printf('%.*c', 10 + (i % 200), 'x') || i
  FROM c;
CREATE INDEX t_k ON t(k);
CREATE INDEX t_name ON t(name);
CREATE TABLE agg AS
  SELECT k, count(*) AS c, sum(length(body)) AS l, group_concat(id % 10, '') AS g
  FROM t GROUP BY k;
UPDATE t SET body = upper(body) || '!' WHERE id % 3 = 0;
DELETE FROM t WHERE id % 5 = 0;
SELECT 'check rows', CASE WHEN count(*) = @n - @n / 5 THEN 'ok' ELSE 'BAD' END FROM t;
SELECT 'check sumid',
       CASE WHEN sum(id) = @n * (@n + 1) / 2 - 5 * ((@n / 5) * (@n / 5 + 1) / 2)
            THEN 'ok' ELSE 'BAD' END FROM t;
SELECT 'check agg', CASE WHEN sum(c) = @n THEN 'ok' ELSE 'BAD' END FROM agg;
SELECT 'join', count(*), sum(a.c) FROM t JOIN agg a USING (k) WHERE t.name < 'name-00050000';
SELECT 'sorted', sum(length(x)) FROM (SELECT name || body AS x FROM t ORDER BY body, name);
SELECT 'json', length(json_group_array(json_object('id', id, 'n', name))) FROM t WHERE id % 7 = 0;
SELECT 'distinct', count(DISTINCT substr(body, 1, 20) || (id % 97)) FROM t;
SELECT 'groups', count(*), max(length(g)) FROM agg;
