# The admin console: the chrome, the shared pages and the keys page.
admin-nav-label = Administration
admin-nav-dashboard = Dashboard
admin-nav-users = Users
admin-nav-groups = Groups
admin-nav-clients = Applications
admin-nav-sessions = Sessions
admin-nav-audit = Audit log
admin-nav-keys = Signing keys
admin-signed-in-as = Signed in as
admin-cancel = Cancel
admin-forbidden-title = Administrators only
admin-forbidden = This part of the site is for members of the administrators group. Ask an administrator if you need access.
admin-not-found-title = Not found
admin-not-found = There is nothing at this address. It may have been deleted.
admin-refused-title = The change was refused
admin-refused = The field “{ $field }” was refused: { $reason }
admin-conflict = This conflicts with what is stored: { $reason }
admin-days = { $count ->
    [one] { $count } day
   *[other] { $count } days
}
admin-keys-title = Signing keys
admin-keys-caption = The keys that sign tokens, newest first
admin-key-kid = Key id
admin-key-alg = Algorithm
admin-key-status = Status
admin-key-created = Created
admin-key-age = Age
admin-key-retires = Retires
admin-key-active = Signs new tokens
admin-key-retiring = Published until it retires
admin-key-retired = Retired
admin-keys-rotate-hint = Rotating makes a new key that signs from now on. The old key stays published until the tokens it signed have expired.
admin-keys-rotate = Rotate the signing key
admin-key-rotated = The signing key was rotated. The old key { $kid } retires on { $date }.
