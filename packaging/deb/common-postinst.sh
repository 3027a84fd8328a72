# Shared by both packages' postinst (inlined at build time). Creates the `outpost` system user.
ensure_outpost_user() {
    if ! getent group outpost >/dev/null; then
        addgroup --system --quiet outpost
    fi
    if ! getent passwd outpost >/dev/null; then
        adduser --system --quiet --ingroup outpost --no-create-home --home /nonexistent \
            --shell /usr/sbin/nologin --gecos "Outpost services" outpost
    fi
}
