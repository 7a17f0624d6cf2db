# postfix.sh - a private Postfix instance in a directory, for tests and
# benchmarks. Source it; needs root (Postfix's master runs as root and
# drops to mail_owner). Nothing outside DIR is touched.
#
#   pf_create DIR PORT [key=value ...]   main.cf + master.cf, smtpd on PORT
#   pf_master DIR 'line'                 add a master.cf line
#   pf_start DIR / pf_stop DIR           start (waits for the port) / stop
#   pf_postconf DIR key=value ...        change main.cf
#   pf_queue_count DIR                   messages in its queue
#   pf_log DIR                           path of its log file

# Postfix refuses -c for a directory the default instance does not list,
# and Debian ships no /etc/postfix/main.cf until configured. Make sure one
# exists that lists our directory (its only job is that one parameter).
pf_allow_dir() {
	# tests and benchmarks may run at once: one writer at a time (a
	# subshell with its own descriptor, so a caller's locks stay theirs)
	(
		flock 198
		[ -f /etc/postfix/main.cf ] || {
			printf '%s\n' "compatibility_level = 3.6" \
			    "# created by mxguard's tests: lists private instances" \
			    > /etc/postfix/main.cf
		}
		cur=$(postconf -h alternate_config_directories 2>/dev/null)
		case " $cur " in *" $1/etc "*) exit 0 ;; esac
		postconf -e "alternate_config_directories = $cur $1/etc"
	) 198>>/etc/postfix/.mxguard-tests.lock
}

# Takes DIR out of alternate_config_directories again (when a test ends).
pf_forget_dir() {
	(
		flock 198
		cur=$(postconf -h alternate_config_directories 2>/dev/null)
		new=$(printf '%s\n' $cur | grep -vxF "$1/etc" | tr '\n' ' ')
		[ "$cur" = "$new" ] ||
		    postconf -e "alternate_config_directories = $new"
	) 198>>/etc/postfix/.mxguard-tests.lock
}

pf_create() {
	local dir=$1 port=$2; shift 2
	mkdir -p "$dir/etc" "$dir/spool" "$dir/data"
	pf_allow_dir "$dir"
	chown postfix "$dir/data"
	chmod 755 "$dir" "$dir/etc" "$dir/spool"
	cat > "$dir/etc/main.cf" <<EOF2
compatibility_level = 3.6
queue_directory = $dir/spool
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = pf-$port.example.test
mydomain = example.test
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 192.0.2.1/32
relay_domains =
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtpd_banner = \$myhostname ESMTP
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
syslog_name = pf-$port
delay_warning_time = 0h
maximal_queue_lifetime = 1d
bounce_queue_lifetime = 1d
smtpd_client_restrictions =
smtpd_helo_restrictions =
smtpd_sender_restrictions =
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions =
smtpd_peername_lookup = no
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
anvil_rate_time_unit = 60s
default_process_limit = 200
smtputf8_enable = no
EOF2
	cat > "$dir/etc/master.cf" <<EOF2
127.0.0.1:$port inet n - n - - smtpd
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
local     unix - n n - - local
virtual   unix - n n - - virtual
lmtp      unix - - n - - lmtp
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF2
	[ $# -gt 0 ] && pf_postconf "$dir" "$@"
	return 0
}

pf_postconf() {
	local dir=$1; shift
	postconf -c "$dir/etc" -e "$@"
}

pf_master() {
	printf '%s\n' "$2" >> "$1/etc/master.cf"
}

pf_log() {
	printf '%s\n' "$1/maillog"
}

# The smtpd port from master.cf's first line.
pf_port() {
	sed -n '1s/^127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$1/etc/master.cf"
}

pf_start() {
	local dir=$1 port i
	port=$(pf_port "$dir")
	postfix -c "$dir/etc" check >"$dir/check.log" 2>&1 || {
		cat "$dir/check.log" >&2; return 1; }
	postfix -c "$dir/etc" start >"$dir/start.log" 2>&1 || {
		cat "$dir/start.log" >&2; return 1; }
	for i in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "postfix in $dir did not open port $port" >&2
	return 1
}

pf_stop() {
	postfix -c "$1/etc" stop >/dev/null 2>&1 || true
	# master exits after its children; wait for the pid file to go
	local i
	for i in $(seq 1 50); do
		[ -f "$1/spool/pid/master.pid" ] || break
		kill -0 "$(cat "$1/spool/pid/master.pid" 2>/dev/null)" 2>/dev/null || break
		sleep 0.1
	done
	return 0
}

pf_queue_count() {
	find "$1/spool/incoming" "$1/spool/active" "$1/spool/deferred" \
	    "$1/spool/hold" "$1/spool/maildrop" -type f 2>/dev/null | wc -l
}
