#!/usr/bin/env bash
# Refresh the vendored Swagger UI served at /api/v1/docs (crmkit/web/static/swagger-ui/)
# from the npm registry: a pinned version, its licence and notice files next to it.
# Nothing is fetched at run time; the server serves the committed files.
#
#   scripts/vendor-swagger-ui.sh [VERSION]     # needs npm and tar
set -euo pipefail
VERSION=${1:-5.35.0}
HERE=$(cd "$(dirname "$0")/.." && pwd)
DEST="$HERE/crmkit/web/static/swagger-ui"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack --silent "swagger-ui-dist@$VERSION" >/dev/null && tar xzf swagger-ui-dist-*.tgz)
mkdir -p "$DEST"
for f in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE; do
    cp "$WORK/package/$f" "$DEST/$f"
done
# the source map reference points at a file we do not ship
sed -i '/^\/\/# sourceMappingURL=/d' "$DEST/swagger-ui-bundle.js"
sed -i 's|/\*# sourceMappingURL=[^*]*\*/||' "$DEST/swagger-ui.css"
echo "swagger-ui-dist $VERSION (Apache-2.0), from the npm registry" > "$DEST/VERSION"
(cd "$DEST" && sha256sum swagger-ui-bundle.js swagger-ui.css > SHA256SUMS)
echo "vendored swagger-ui-dist $VERSION into $DEST"
