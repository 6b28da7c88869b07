#!/bin/sh
# configure did not find Check (libcheck): the unit suites cannot be built.
echo "make check needs the Check unit-test framework: apt-get install check pkg-config, then ./configure again" >&2
exit 99
