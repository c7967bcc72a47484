#!/bin/sh
# pgo.sh: with --enable-pgo, the training ran and edigate was built from
# its profile (docs/performance.md, "Profile-guided optimisation").  gcc
# compiles a file without profile data silently (-Wno-missing-profile),
# so a training run that made no counts would ship an unoptimised build
# unnoticed: this test notices.  Without --enable-pgo there is nothing to
# check, and it says so as a skip.
b="${top_builddir:-.}"
if ! sh "$b/config.status" --config 2>/dev/null | grep -q -- "--enable-pgo" ||
    sh "$b/config.status" --config | grep -q -- "--enable-pgo=no"; then
	echo "1..0 # SKIP not configured with --enable-pgo"
	exit 0
fi
echo "1..3"
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; fail=1; }

[ -f "$b/pgo.stamp" ] && ok "pgo.stamp: the training ran" ||
    notok "no pgo.stamp in $b"
# The counts of the parsers, the tree builder and the evaluator: the
# training must have run them, not only started edigate.
missing=
for f in x12 edifact tree map_eval mdoc; do
	g="$b/translators/libedigate_a-$f.gcda"
	[ -s "$g" ] || missing="$missing $f"
done
[ -z "$missing" ] && ok "profile counts for x12, edifact, tree, map_eval, mdoc" ||
    notok "no profile counts for:$missing"
# gcc splits code the profile never saw run into .cold parts: a build
# from a profile has them, one without has (nearly) none.
cold=$(nm "$b/edigate" 2>/dev/null | grep -c '\.cold')
[ "$cold" -ge 50 ] && ok "edigate compiled from the profile ($cold cold parts)" ||
    notok "edigate has $cold cold parts: not compiled from the profile"
exit $fail
