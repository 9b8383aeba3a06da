#!/usr/bin/env bash
# Notarises and staples a signed dist/ProjectDesk.app, then packs it for download (macOS only; written from
# Apple's notarytool documentation and not run here: see packaging/README.md, "What was not tested").
#
# Before: build a signed app with a "Developer ID Application" certificate from your keychain:
#   PROJECTDESK_CODESIGN_IDENTITY="Developer ID Application: Your Name (TEAMID)" .venv/bin/python packaging/build.py
# and store notarytool credentials once (an app-specific password from appleid.apple.com):
#   xcrun notarytool store-credentials projectdesk --apple-id you@example.com --team-id TEAMID
#
# Usage: packaging/macos/notarize.sh [KEYCHAIN_PROFILE]   (default profile name: projectdesk)
set -euo pipefail
cd "$(dirname "$0")/../.."

profile="${1:-projectdesk}"
version="$(python3 -c 'import sys; sys.path.insert(0, "packaging"); import appinfo; print(appinfo.load().version)')"
name="$(python3 -c 'import sys; sys.path.insert(0, "packaging"); import appinfo; print(appinfo.load().name)')"
app="dist/$name.app"
zip="dist/$name-$version-macos.zip"

[ -d "$app" ] || { echo "notarize.sh: $app is missing: build it first (packaging/build.py)" >&2; exit 1; }

echo "== checking the signature (hardened runtime, every nested binary)"
codesign --verify --deep --strict --verbose=2 "$app"
codesign --display --verbose=2 "$app" 2>&1 | grep -E "Authority=Developer ID Application|flags=.*runtime" \
  || { echo "notarize.sh: $app is not signed with a Developer ID and the hardened runtime" >&2; exit 1; }

echo "== submitting to Apple's notary service (takes minutes)"
rm -f "$zip"
ditto -c -k --keepParent "$app" "$zip"
xcrun notarytool submit "$zip" --keychain-profile "$profile" --wait

echo "== stapling the ticket, so Gatekeeper accepts the app offline"
xcrun stapler staple "$app"
xcrun stapler validate "$app"
spctl --assess --type execute --verbose=2 "$app"

rm -f "$zip"
ditto -c -k --keepParent "$app" "$zip"
echo "== ready to publish: $zip"
