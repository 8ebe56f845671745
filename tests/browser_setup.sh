#!/bin/sh
# The browser tests drive Debian's Chromium under Playwright (executable_path):
# Playwright's own browser download can't be reached from these machines.
# Installs it only when missing, so `make test` stays fast once it is there.
set -e
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -q
$SUDO apt-get install -y -q chromium
