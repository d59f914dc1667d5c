#!/bin/sh
# redis-server as the redis user on every interface of the container, AOF on, data in /data;
# the password (REDIS_PASSWORD) goes through a config file, not the command line.
set -eu
: "${REDIS_PASSWORD:?REDIS_PASSWORD must be set}"
chown redis:redis /data
umask 077
printf 'requirepass "%s"\n' "$REDIS_PASSWORD" > /run/redis-auth.conf
chown redis /run/redis-auth.conf
exec setpriv --reuid=redis --regid=redis --init-groups redis-server /run/redis-auth.conf \
    --bind 0.0.0.0 --protected-mode no --dir /data --appendonly yes --save "3600 1" "$@"
