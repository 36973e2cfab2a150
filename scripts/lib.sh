# Shared by the benchmark scripts, sourced from the repository's root once their arguments are
# checked: builds the release binary (`bin`), makes a temporary directory (`work`, removed on
# exit with the sandbox stopped), and gives the cards and update lines they send and a sandbox to
# send them to.

cargo build --release --quiet -p wechatpay-card
bin=$PWD/target/release/wechatpay-card
work=$(mktemp -d)
trap 'stop_sandbox; rm -rf "$work"' EXIT

# make_cards N FILE: N copies of the page's example card (brand 1004), codes C000000…, as the
# sandbox's --cards file.
make_cards() {
  awk -v n="$1" 'BEGIN {
    printf "["
    for (i = 0; i < n; i++) {
      if (i) printf ","
      printf "{\"user_card_code\":\"C%06d\",\"card_id\":\"pbLatjvWOibDc5-TBnbUk1pD12o0\",\"openid\":\"obLatjnx9gnqzS4myYGmLZ7LgLBA\",\"brand_id\":\"1004\",\"card_type\":\"NORMAL\",\"phone_number\":\"13800138000\",\"level\":\"L\",\"valid_date_information\":{\"type\":\"PERMANENT\"},\"pickup_time\":\"2020-05-20T13:29:35.120+08:00\",\"user_card_state\":\"EFFECTIVE\",\"create_time\":\"2020-05-20T13:29:35.120+08:00\",\"modify_time\":\"2020-05-20T13:29:35.120+08:00\"}", i
    }
    printf "]"
  }' > "$2"
}

# make_updates N CARDS FILE [phone]: N update lines for `bulk`, line i for card C(i mod CARDS),
# each a new level; with `phone`, each also a new phone number (a field the client encrypts).
make_updates() {
  awk -v n="$1" -v cards="$2" -v phone="${4:-}" 'BEGIN {
    for (i = 0; i < n; i++) {
      extra = (phone == "phone") ? sprintf(",\"phone_number\":\"139%08d\"", i) : ""
      printf "{\"card_id\":\"pbLatjvWOibDc5-TBnbUk1pD12o0\",\"code\":\"C%06d\",\"body\":{\"brand_id\":\"1004\",\"openid\":\"obLatjnx9gnqzS4myYGmLZ7LgLBA\",\"level\":\"L%d\"%s}}\n", i % cards, i, extra
    }
  }' > "$3"
}

# start_sandbox CARDS_FILE [SANDBOX_ARGS...]: a sandbox of $bin in the background, its state in
# $work/sandbox (whose env file the bulk runs source), its base URL in $work/url; its pid in
# $sandbox_pid. Exits with the sandbox's log if it is not up within 10 s.
sandbox_pid=
start_sandbox() {
  local cards=$1
  shift
  rm -rf "$work/sandbox"
  "$bin" sandbox --state-dir "$work/sandbox" --cards "$cards" "$@" \
    > "$work/url" 2> "$work/sandbox.log" &
  sandbox_pid=$!
  for _ in $(seq 100); do [ -s "$work/sandbox/env" ] && [ -s "$work/url" ] && break; sleep 0.1; done
  [ -s "$work/sandbox/env" ] || { cat "$work/sandbox.log" >&2; exit 1; }
}

# stop_sandbox: stops the sandbox start_sandbox started, if any.
stop_sandbox() {
  if [ -n "$sandbox_pid" ]; then
    kill "$sandbox_pid" 2>/dev/null || true
    wait "$sandbox_pid" 2>/dev/null || true
    sandbox_pid=
  fi
}
