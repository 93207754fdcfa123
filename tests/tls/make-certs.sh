#!/bin/sh
# make-certs.sh DIR [HOST]: test credentials in DIR, in the layout of
# QEMU's tls-creds-x509 (and emufs's settings.tls): ca-cert.pem,
# server-cert.pem/-key.pem naming HOST (default 127.0.0.1) and localhost,
# client-cert.pem/-key.pem, all signed by a CA made here (its key stays in
# DIR as ca-key.pem). ECDSA keys: quick to make. Valid for one day; made
# by the tests that need them, never committed.
set -eu
dir=$1
host=${2:-127.0.0.1}
mkdir -p "$dir"
cd "$dir"
key() { certtool --generate-privkey --key-type=ecdsa --outfile "$1" 2>/dev/null; }
key ca-key.pem
printf 'cn = emufs test CA\nca\ncert_signing_key\nexpiration_days = 1\n' >ca.info
certtool --generate-self-signed --load-privkey ca-key.pem \
	--template ca.info --outfile ca-cert.pem 2>/dev/null
key server-key.pem
case $host in
*[!0-9.]*) san="dns_name = $host" ;;
*) san="ip_address = $host" ;;
esac
printf 'cn = %s\n%s\ndns_name = localhost\ntls_www_server\nsigning_key\nencryption_key\nexpiration_days = 1\n' \
	"$host" "$san" >server.info
certtool --generate-certificate --load-privkey server-key.pem \
	--load-ca-certificate ca-cert.pem --load-ca-privkey ca-key.pem \
	--template server.info --outfile server-cert.pem 2>/dev/null
key client-key.pem
printf 'cn = emufs test client\ntls_www_client\nsigning_key\nencryption_key\nexpiration_days = 1\n' >client.info
certtool --generate-certificate --load-privkey client-key.pem \
	--load-ca-certificate ca-cert.pem --load-ca-privkey ca-key.pem \
	--template client.info --outfile client-cert.pem 2>/dev/null
rm -f ca.info server.info client.info
chmod 600 ./*-key.pem
