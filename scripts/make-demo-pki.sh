#!/usr/bin/env bash
# Creates a throwaway PKI for the standalone demo: one CA per trust domain and X509-SVIDs
# (ECDSA P-256, one URI SAN, CA:FALSE, keyUsage digitalSignature) for the sample agents.
# Usage: make-demo-pki.sh OUT_DIR
set -euo pipefail
out=${1:?usage: make-demo-pki.sh OUT_DIR}
mkdir -p "$out"
cd "$out"

ca() {  # ca TRUST_DOMAIN
  local td=$1
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=$td" -keyout "$td.ca.key" -out "$td.bundle.pem" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectAltName=URI:spiffe://$td" \
    -addext "subjectKeyIdentifier=hash" 2>/dev/null
  chmod 600 "$td.ca.key"
}

svid() {  # svid TRUST_DOMAIN NAME
  local td=$1 name=$2
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=$name" -keyout "$name.key" -out "$name.csr" 2>/dev/null
  cat > "$name.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=URI:spiffe://$td/$name
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EXT
  openssl x509 -req -in "$name.csr" -CA "$td.bundle.pem" -CAkey "$td.ca.key" \
    -CAcreateserial -days 1 -extfile "$name.ext" -out "$name.pem" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
  chmod 600 "$name.key"
}

ca example.org
for agent in budget-backend budget-report budget-approval employee-menus; do
  svid example.org "$agent"
done
echo "demo PKI written to $out"
