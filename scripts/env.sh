# Sourced by scripts/demo, scripts/test and .ci/run: makes DuckDB's official prebuilt library
# (DuckDB 1.5.6, from the npm package @duckdb/node-bindings-linux-x64) available for linking,
# downloading it once into a cache. Compiling DuckDB from C++ (`--features bundled`) takes ~45 min
# on two cores; linking the prebuilt library takes seconds.
DUCKDB_VERSION=1.5.6
DUCKDB_NPM_PKG="@duckdb/node-bindings-linux-x64@${DUCKDB_VERSION}-r.1"
SLUICE_CACHE="${SLUICE_CACHE:-$HOME/.cache/sluice}"
export DUCKDB_LIB_DIR="${DUCKDB_LIB_DIR:-$SLUICE_CACHE/duckdb-$DUCKDB_VERSION}"
if [ ! -f "$DUCKDB_LIB_DIR/libduckdb.so" ]; then
  echo "sluice: fetching libduckdb $DUCKDB_VERSION into $DUCKDB_LIB_DIR" >&2
  mkdir -p "$DUCKDB_LIB_DIR"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$DUCKDB_NPM_PKG" >/dev/null) || { echo "sluice: npm pack $DUCKDB_NPM_PKG failed" >&2; return 1 2>/dev/null || exit 1; }
  tar xzf "$tmp"/*.tgz -C "$DUCKDB_LIB_DIR" --strip-components=1 package/libduckdb.so
  rm -rf "$tmp"
fi
export LD_LIBRARY_PATH="$DUCKDB_LIB_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
