#!/bin/sh
# Builds go/wbench offline, in GOPATH mode, against the sources Debian's -dev packages install
# under /usr/share/gocode (golang-github-vishvananda-netlink-dev, -netns-dev,
# golang-golang-x-sys-dev): no module download, no network.
set -e
cd "$(dirname "$0")"
GO111MODULE=off GOPATH=/usr/share/gocode GOPROXY=off GOFLAGS= go build -o wbench main.go
