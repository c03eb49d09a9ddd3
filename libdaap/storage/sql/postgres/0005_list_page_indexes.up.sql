-- A page of GET /databases reads about as many rows as it returns, for
-- every filter combination (issue 15; bench/list-plans measures it).
--
-- owner_team and status together: 0001 has an index for each alone, so the
-- page read one team's rows in (created_at, id) order and dropped those with
-- another status; when the team had none with that status, every row of the
-- team was read to return an empty page.
CREATE INDEX databases_owner_status_created ON databases (owner_team, status, created_at, id);
-- The planner assumes owner_team and status independent; a team whose
-- records mostly have one status then looks to have a handful, and the page
-- becomes a bitmap scan of all of them and a sort. Statistics on the pair
-- (kept by ANALYZE, as autovacuum runs it) give it the real counts.
CREATE STATISTICS databases_owner_status (mcv, dependencies) ON owner_team, status FROM databases;

-- The default list hides soft-deleted records (deleted_at IS NULL). They are
-- kept for ever, so in 0001's indexes their share of the rows read grows
-- with the store's age; these partial ones hold live records only. (A status
-- filter needs none: only 'deleting' and 'deleted' records have deleted_at
-- set, so the rows of any other status are all live.)
CREATE INDEX databases_live_created ON databases (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX databases_live_owner_created ON databases (owner_team, created_at, id) WHERE deleted_at IS NULL;
