#!/bin/sh
# console_browser.sh: the dashboard in headless Chromium (TAP).  Installs
# playwright-core with npm into a work folder outside the source tree
# (EDIGATE_NPM_WORK, default ${TMPDIR:-/tmp}/edigate-console-npm), then
# tests/console.py --browser starts a daemon, feeds it and runs
# tests/browser.js.  Needs Debian's chromium (.ci/run installs it); a
# browser that cannot run is a failure, never a skip.  Screenshots go to
# $top_builddir/tests/screenshots/.
top="${top_srcdir:-.}"
work="${EDIGATE_NPM_WORK:-${TMPDIR:-/tmp}/edigate-console-npm}"
PLAYWRIGHT_VERSION=1.49.1

fail() {
	echo "1..1"
	echo "not ok 1 - $1"
	exit 1
}

command -v node >/dev/null 2>&1 || fail "node is installed (apt-get install nodejs npm)"
chromium="${CHROMIUM:-$(command -v chromium || echo /usr/bin/chromium)}"
[ -x "$chromium" ] || fail "chromium is installed (apt-get install chromium)"
mkdir -p "$work" || fail "work folder $work"
if [ ! -f "$work/node_modules/playwright-core/package.json" ]; then
	(cd "$work" && [ -f package.json ] || echo '{"private":true}' > package.json) &&
	npm install --prefix "$work" --no-audit --no-fund --loglevel=error \
	    "playwright-core@$PLAYWRIGHT_VERSION" >&2 ||
		fail "npm install playwright-core into $work"
fi
NODE_PATH="$work/node_modules" CHROMIUM="$chromium" \
	exec python3 "$top/tests/console.py" --browser
