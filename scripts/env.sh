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
# The Spark engine's client is generated from Spark Connect's protocol files by `protoc` at build
# time. Where no `protoc` is installed, use the one crates.io serves (protoc-bin-vendored, with the
# well-known .proto files beside it), fetched once into the same cache.
PROTOC_VENDORED=3.2.0
if [ -z "${PROTOC:-}" ] && ! command -v protoc >/dev/null 2>&1; then
  PROTOC_DIR="$SLUICE_CACHE/protoc-$PROTOC_VENDORED"
  if [ ! -x "$PROTOC_DIR/bin/protoc" ]; then
    echo "sluice: fetching protoc $PROTOC_VENDORED into $PROTOC_DIR" >&2
    mkdir -p "$PROTOC_DIR"
    curl -sSfL "https://static.crates.io/crates/protoc-bin-vendored-linux-x86_64/protoc-bin-vendored-linux-x86_64-$PROTOC_VENDORED.crate" \
      | tar xz -C "$PROTOC_DIR" --strip-components=1 || { echo "sluice: fetching protoc failed" >&2; return 1 2>/dev/null || exit 1; }
  fi
  export PROTOC="$PROTOC_DIR/bin/protoc"
fi
