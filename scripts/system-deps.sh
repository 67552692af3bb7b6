#!/usr/bin/env bash
# Install the Debian packages Shochu uses outside Python: Tesseract with the
# Japanese and Thai models for OCR, Chromium and its WebDriver for the tests
# that open the HTML pages, and Japanese and Thai fonts for rendering test
# documents and the pages.
#
# As root it runs apt-get; otherwise it prints the command to run and exits
# non-zero, so that `make` stops before tests that would fail without them.
set -euo pipefail

PACKAGES=(tesseract-ocr tesseract-ocr-jpn tesseract-ocr-tha chromium chromium-driver fonts-ipafont-gothic fonts-thai-tlwg)

missing=()
for package in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

command="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "Shochu needs these Debian packages: ${missing[*]}" >&2
    echo "Run as root:  $command" >&2
    exit 1
fi

echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
