# kps remote script (src/remote/remote.sh). kps sends it on standard input
# to `exec sh -s` (or `exec sudo -n sh -s`) over its one kept connection,
# after a `set --` line that carries the operation and its values as
# positional parameters, quoted by kps: no value is ever part of the code.
#
# Every line kps reads starts with the tag kps chose for this run ($KPS_TAG,
# random: a login shell's own output cannot imitate it) and one word saying
# what it is; any value that could hold blanks, line breaks or odd bytes is
# sent as hex.
# The script only reads files and writes what kps computed: every decision
# is made on kps's side, where it is tested.
#
# POSIX sh only (dash, busybox ash, bash --posix): no arrays, no `local`,
# no `[[`; od, cksum, mv, cp, chmod, chown, mkdir are POSIX.

umask 077
PATH="$PATH:/usr/sbin:/sbin"
export PATH LC_ALL=C

say() { printf '%s %s\n' "$KPS_TAG" "$*"; }

# hex of $1's bytes, on one line
hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }

fail() { say "error $1 $(hex "$2")"; exit 3; }

# Content checksum of a file, or "none" when there is no file: kps sends
# the checksum of what it read, and a write refuses when the file changed
# in between (someone else editing it at the same time).
sum_of() {
	if [ -e "$1" ] || [ -h "$1" ]; then
		set -- "$(cksum < "$1" 2>/dev/null)"
		printf '%s' "${1%% *}"
	else
		printf 'none'
	fi
}

file_state() {
	if [ -h "$1" ]; then say "file symlink"; return; fi
	if [ ! -e "$1" ]; then say "file missing"; return; fi
	if [ ! -f "$1" ]; then say "file other"; return; fi
	if command -v lsattr >/dev/null 2>&1; then
		flags=$(lsattr -d "$1" 2>/dev/null) && case "${flags%% *}" in
			*i*) say "file immutable"; return ;;
		esac
	fi
	if [ ! -r "$1" ]; then say "file unreadable"; return; fi
	say "file regular $(sum_of "$1")"
	printf '%s content ' "$KPS_TAG"
	od -An -v -tx1 < "$1" | tr -d ' \n'
	printf '\n'
}

# whoami: who we are logged in as, and whether we can act as root.
op_whoami() {
	say "uid $(id -u)"
	say "user $(hex "$(id -un)")"
	say "home $(hex "$HOME")"
	if [ "$(id -u)" = 0 ]; then
		say "root yes"
	elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
		say "root sudo"
	else
		say "root no"
	fi
	# What `sshd -T -C` needs to apply Match blocks to this very
	# connection: the user, and the addresses and port as the server sees
	# them (sudo would drop SSH_CONNECTION, so kps passes this on).
	set -- ${SSH_CONNECTION:-}
	spec="user=$(id -un),host=${1:-127.0.0.1},addr=${1:-127.0.0.1}"
	[ -n "${3:-}" ] && spec="$spec,laddr=$3,lport=${4:-22}"
	say "spec $(hex "$spec")"
}

# survey: whoami; as root also inspect; and the default authorized_keys
# file, which is where the key goes on most servers: one round trip
# instead of three.
op_survey() {
	op_whoami
	[ "$(id -u)" = 0 ] && op_inspect "$spec"
	say "keys-file $(hex "$HOME/.ssh/authorized_keys")"
	file_state "$HOME/.ssh/authorized_keys"
}

# inspect SPEC (as root): what sshd says for the connection SPEC
# describes, and the sshd config files.
op_inspect() {
	sshd_bin=$(command -v sshd 2>/dev/null) || fail no-sshd sshd
	if out=$("$sshd_bin" -T -C "$1" 2>&1); then
		say "inspected"
		printf '%s\n' "$out" | sed "s/^/$KPS_TAG T /"
	else
		say "T-failed $(hex "$out")"
	fi
	for f in /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*; do
		[ -f "$f" ] || [ -h "$f" ] || continue
		say "config $(hex "$f")"
		file_state "$f"
	done
}

# read FILE: its state and content.
op_read() {
	file_state "$1"
}

# write FILE MODE OWNER EXPECTED_SUM MAKE_DIR BACKUP < content
# Replaces FILE with standard input through a temp file in the same
# directory: written, flushed, given its mode, owner and SELinux label,
# then renamed over FILE. Never through a symlink, never over a file that
# changed since kps read it.
op_write() {
	path=$1 mode=$2 owner=$3 expected=$4 make_dir=$5 backup=$6
	dir=${path%/*}
	[ -n "$dir" ] || dir=/
	if [ ! -d "$dir" ]; then
		[ "$make_dir" = yes ] || fail missing-dir "$dir"
		mkdir -m 700 "$dir" || fail mkdir "$dir"
		chown "$owner" "$dir" 2>/dev/null || fail chown "$dir"
		command -v restorecon >/dev/null 2>&1 && restorecon -F "$dir" >/dev/null 2>&1
		say "made-dir $(hex "$dir")"
	fi
	[ -h "$dir" ] && fail symlink "$dir"
	[ -h "$path" ] && fail symlink "$path"
	if [ -e "$path" ] && [ ! -f "$path" ]; then fail not-regular "$path"; fi
	[ "$(sum_of "$path")" = "$expected" ] || fail changed "$path"
	if [ "$backup" != - ]; then
		cp -p "$path" "$backup" || fail backup "$backup"
		say "backup $(hex "$backup")"
	fi
	tmp="$dir/.kps-tmp.$$"
	rm -f "$tmp"
	if ! cat > "$tmp"; then rm -f "$tmp"; fail write "$path"; fi
	chmod "$mode" "$tmp" || { rm -f "$tmp"; fail chmod "$path"; }
	chown "$owner" "$tmp" 2>/dev/null || { rm -f "$tmp"; fail chown "$path"; }
	sync "$tmp" 2>/dev/null || sync
	command -v restorecon >/dev/null 2>&1 && restorecon -F "$tmp" >/dev/null 2>&1
	mv -f "$tmp" "$path" || { rm -f "$tmp"; fail rename "$path"; }
	command -v restorecon >/dev/null 2>&1 && restorecon -F "$path" >/dev/null 2>&1
	say "wrote $(sum_of "$path")"
}

# remove FILE EXPECTED_SUM
op_remove() {
	[ -h "$1" ] && fail symlink "$1"
	[ "$(sum_of "$1")" = "$2" ] || fail changed "$1"
	if [ -e "$1" ]; then rm -f "$1" || fail remove "$1"; fi
	say "removed"
}

# check SPEC (as root): sshd -t, then the effective settings for the
# connection SPEC describes.
op_check() {
	sshd_bin=$(command -v sshd) || fail no-sshd sshd
	if ! out=$("$sshd_bin" -t 2>&1); then
		say "invalid $(hex "$out")"
		return 0
	fi
	say "valid"
	"$sshd_bin" -T -C "$1" 2>/dev/null | sed "s/^/$KPS_TAG T /"
}

# The listening sshd this connection came through: up the parent chain
# from this shell, the last process named sshd (sshd-session, since
# OpenSSH 9.8, is the per-connection child).
listener_pid() {
	pid=$$ found=
	while [ -n "$pid" ] && [ "$pid" -gt 1 ] 2>/dev/null; do
		[ -r "/proc/$pid/stat" ] || break
		comm=$(cat "/proc/$pid/comm" 2>/dev/null)
		case "$comm" in sshd) found=$pid ;; esac
		stat=$(cat "/proc/$pid/stat") || break
		# Field 4 (ppid), after the ")" that ends the command name.
		stat=${stat##*) }
		set -- $stat
		pid=$2
	done
	printf '%s' "$found"
}

# reload: the new config is valid (kps ran `check` first); make the
# daemon this connection came through read it.
op_reload() {
	sshd_bin=$(command -v sshd) || fail no-sshd sshd
	"$sshd_bin" -t >/dev/null 2>&1 || fail invalid-config /etc/ssh/sshd_config
	pid=$(listener_pid)
	if [ -n "$pid" ] && command -v systemctl >/dev/null 2>&1; then
		for unit in ssh sshd; do
			main=$(systemctl show -p MainPID --value "$unit" 2>/dev/null) || continue
			if [ "$main" = "$pid" ]; then
				systemctl reload "$unit" >/dev/null 2>&1 && { say "reloaded systemctl-$unit"; return 0; }
			fi
		done
	fi
	if [ -n "$pid" ]; then
		kill -HUP "$pid" && { say "reloaded hup"; return 0; }
	fi
	if [ -r /run/sshd.pid ]; then
		kill -HUP "$(cat /run/sshd.pid)" && { say "reloaded pidfile"; return 0; }
	fi
	for how in "service ssh reload" "service sshd reload" "rc-service sshd reload"; do
		set -- $how
		command -v "$1" >/dev/null 2>&1 && $how >/dev/null 2>&1 && { say "reloaded $1"; return 0; }
	done
	fail reload sshd
}

# kps appends the call: `main "$@" < /dev/null`, or for `write` the content
# in a here-document whose delimiter is random and not in the content.
main() {
	op=$1
	shift
	case "$op" in
		survey) op_survey "$@" ;;
		inspect) op_inspect "$@" ;;
		read) op_read "$@" ;;
		write) op_write "$@" ;;
		remove) op_remove "$@" ;;
		check) op_check "$@" ;;
		reload) op_reload "$@" ;;
		*) fail unknown-op "$op" ;;
	esac
	say "done"
}
