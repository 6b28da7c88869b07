#!/bin/sh
# Generates ./configure from configure.ac (autoreconf).
set -e
cd "$(dirname "$0")"
mkdir -p m4
autoreconf -fi
