# Why an input was refused: the typed reasons of the use cases (`service::Invalid`), as the
# account, setup, invitation and admin pages show them.

invalid-password-too-short = The password must have at least { $min } characters.
invalid-password-too-long = The password must have at most { $max } characters.
invalid-username = The username “{ $username }” cannot be used: a username is 1 to { $max } letters, digits, “.”, “_”, “-”, “@” or “+”.
invalid-email = “{ $email }” is not an email address.
invalid-person-name = A name is at most { $max } characters, without control characters.
invalid-group = The group “{ $group }” cannot be used: a group is 1 to 64 letters, digits, “.”, “_” or “-”.
invalid-client-id = The client id “{ $client }” cannot be used: a client id is 1 to 128 characters of A–Z, a–z, 0–9, “.”, “_”, “~” or “-”.
invalid-client-name = A client’s name is 1 to { $max } characters, without control characters.
invalid-scope = “{ $scope }” is not a valid scope.
invalid-require-factors = The number of factors a sign-in needs must be 1 or 2.
invalid-redirect-uri = The redirect URI “{ $uri }” cannot be registered. { $problem }
invalid-launch-url = The launch URL “{ $uri }” cannot be registered. { $problem }
invalid-icon-url = The icon URL “{ $uri }” cannot be registered. { $problem }
uri-too-long = It is longer than 2048 characters.
uri-whitespace = It contains whitespace or control characters.
uri-encoded-control = It contains a percent-encoded control character.
uri-wildcard = It contains a wildcard; addresses are matched exactly.
uri-fragment = It has a fragment, which RFC 6749 forbids.
uri-http-localhost = It uses plain http on localhost. Use http://127.0.0.1 (any port), or allow http://localhost for this client (development only).
uri-plain-http = It uses plain http. Only https is allowed, or http on 127.0.0.1 or [::1] for native apps.
uri-scheme = It must start with https:// (or http://127.0.0.1 or http://[::1]).
uri-user-info = It has user information before the host.
uri-no-host = It has no host.
uri-encoded-host = Its host is encoded or escaped.
uri-encoded-path = Its path has an encoded dot, slash or backslash.
uri-dot-segment = Its path has a “.” or “..” segment.
uri-not-absolute = It is not a valid absolute URL.
invalid-icon-too-long = An icon is at most { $max } characters (16 KiB); this one has { $len }.
invalid-icon-not-base64 = The icon’s data: URL does not hold valid base64.
invalid-icon-not-png = The icon says image/png, but its data is not a PNG.
invalid-icon-scheme = An icon is an https:// URL, or a data:image/png;base64, or data:image/svg+xml;base64, URL.
invalid-no-grant-type = A client needs at least one grant type.
invalid-no-redirect-uri = A client that uses authorization_code needs at least one redirect URI.
invalid-public-client-credentials = Only confidential clients may use client_credentials.
invalid-public-without-pkce = PKCE cannot be switched off for a public client.
invalid-http-localhost = An http://localhost address needs allow_http_localhost; or use http://127.0.0.1.
invalid-http-launch-url = An http:// launch URL (on localhost, 127.0.0.1 or [::1] only) needs allow_http_localhost.
invalid-allowed-group = A group is 1 to 64 letters, digits, “.”, “_” or “-”.
invalid-resource = A resource is an absolute https URI (or http on a loopback address) without a fragment (RFC 8707).
invalid-outbound-not-http = “{ $url }” is not an http or https URL with a host.
invalid-outbound-address = { $class ->
    [unspecified] “{ $host }” is an unspecified address
    [loopback] “{ $host }” is a loopback address
    [private] “{ $host }” is a private address
    [link-local] “{ $host }” is a link-local address
    [shared] “{ $host }” is a shared (carrier-grade NAT) address
    [multicast] “{ $host }” is a multicast address
   *[reserved] “{ $host }” is a reserved address
}. The server calls it only when its network is allowed in the outbound allow_networks setting.
invalid-outbound-localhost = “{ $host }” names this machine. The server calls it only when 127.0.0.0/8 and ::1/128 are allowed in the outbound allow_networks setting.
invalid-upstream-name = An upstream provider’s name is 1 to 32 lower-case letters, digits or “-”.
invalid-upstream-subject = An upstream subject is 1 to { $max } printable bytes.
invalid-invitation-lifetime = An invitation lasts 1 to { $max } hours.
invalid-request = The request could not be read.
invalid-other = This value was refused.

# Why a change conflicts with what is stored: the typed reasons of the use cases
# (`service::Conflict`), as the admin console shows them.

conflict-username-taken = The username “{ $username }” is taken by another user.
conflict-passkey-taken = This passkey is already registered to another user.
conflict-path-exists = “{ $path }” already exists; choose a path where nothing is yet.
conflict-client-exists = A client with the id “{ $client }” is already registered.
conflict-client-declared = The client “{ $client }” is declared in the configuration file; change it there.
conflict-client-declared-and-stored = The client “{ $client }” is declared in the configuration file but was also created with the command line or the admin API; delete one of them.
conflict-client-public = The client “{ $client }” is public and has no secret to replace.
conflict-no-free-username = No free username could be found for this account.
conflict-upstream-linked = This { $upstream } identity is already linked to “{ $owner }”; unlink it there first.
conflict-last-administrator = “{ $username }” is the last enabled member of “{ $group }”: without them, no one could open the admin console or the admin API. Make another user an administrator first.
conflict-other = This change conflicts with what is stored.
