#!/bin/sh
# Check one column of the kp.has table in tests/vm/KERNELS.md against what
# kp.has() says on the running kernel; one "ok/not ok - features: ..." line
# per feature, and one for features kp.has knows that the table lacks.
# Runs under busybox sh in the guests and under dash on the host.
#
#   sh tests/vm/features.sh KPSCRIPT TABLE COLUMN
#
# COLUMN is the column's header: "5.10", "6.1", "6.12" or "host 6.18 (CI)".
K=$1 TABLE=$2 COL=$3
[ -x "$K" ] || { echo "not ok - features: no kpscript at $K"; exit 0; }
[ -f "$TABLE" ] || { echo "not ok - features: no table at $TABLE"; exit 0; }

# "feature expected" for every row of the first table under the column COL
rows=$(awk -F'|' -v col="$COL" '
	function trim(s) { gsub(/^[ \t`]+|[ \t`]+$/, "", s); return s }
	!found && trim($2) == "kp.has" {
		for (i = 2; i < NF; i++) if (trim($i) == col) c = i
		found = 1; next
	}
	found && /^\|---/ { next }
	found && c && /^\|/ { print trim($2), trim($c); next }
	found && c { exit }' "$TABLE")
if [ -z "$rows" ]; then
	echo "not ok - features: $TABLE has no kp.has table with a column '$COL'"
	exit 0
fi

# what kp.has says of each, and the names it knows (from its error)
names=$(echo "$rows" | awk '{ printf "%s\"%s\"", (NR > 1 ? ", " : ""), $1 }')
got=$("$K" -e "
for _, f in ipairs { $names } do
  local ok, v = pcall(kp.has, f)
  print(f, ok and tostring(v) or 'error')
end
local _, e = pcall(kp.has, '?')
print('KNOWN', (tostring(e):match('known: ([^)]*)') or ''))" 2>&1)

echo "$rows" | while read -r f want; do
	have=$(echo "$got" | awk -v f="$f" '$1 == f { print $2 }')
	case "$want:$have" in
	yes:true | no:false) echo "ok - features: kp.has(\"$f\") is $have, as the table says for $COL" ;;
	*) echo "not ok - features: kp.has(\"$f\") is ${have:-missing} here, the table says '$want' for $COL" ;;
	esac
done
known=$(echo "$got" | sed -n 's/^KNOWN	//p' | tr -d ' ' | tr ',' '\n')
missing=
for f in $known; do
	echo "$rows" | awk -v f="$f" '$1 == f { found = 1 } END { exit !found }' || missing="$missing $f"
done
if [ -n "$known" ] && [ -z "$missing" ]; then
	echo "ok - features: every feature kp.has knows has a row in the table ($(echo $known | wc -w))"
else
	echo "not ok - features: features kp.has knows without a row in the table:${missing:- (none known: $got)}"
fi
