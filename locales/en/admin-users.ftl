# The admin console's users and groups pages.
admin-users-title = Users
admin-users-search = Search by username, name or email
admin-users-search-button = Search
admin-users-found = { $count ->
    [0] No users on this page match { $search }.
    [one] One user on this page matches { $search }.
   *[other] { $count } users on this page match { $search }.
}
admin-users-none = No users to show.
admin-users-caption = Users in username order
admin-users-pages = Pages of the list
admin-users-first-page = First page
admin-users-next-page = Next page
admin-user-username = Username
admin-user-groups = Groups
admin-user-groups-hint = Separate groups with commas or spaces. Members of admins may open this console.
admin-user-status = Status
admin-user-enabled = Active
admin-user-disabled = Disabled
admin-user-email-verified = The email address is verified
admin-user-create-title = Create a user
admin-user-initial-password = Initial password (optional)
admin-user-repeat-password = Repeat the password
admin-user-initial-password-hint = Without a password, the user signs in with an upstream provider or an invitation.
admin-user-create = Create the user
admin-user-invite-title = Invite a user
admin-user-invite-hint = The user is created without a password and gets a one-time link to choose one.
admin-user-invite = Create the invitation
admin-user-invited = The invitation for { $username } is ready. Send this link to them.
admin-user-invite-link = Invitation link
admin-user-invite-once = This link is shown only once and works only once.
admin-user-invite-expiry = It expires on { $date }.
admin-user-invite-to-user = Open the user
admin-user-back = Back to the users
admin-user-lead = The account { $username }: its profile, its sign-in and what it has allowed.
admin-user-details = Account details
admin-user-subject = Subject
admin-user-password = Password
admin-user-has-password = Set
admin-user-no-password = Not set
admin-user-created-at = Created
admin-user-updated-at = Last changed
admin-user-profile-title = Profile and groups
admin-user-save = Save the profile and groups
admin-user-status-title = Access
admin-user-disable-hint = A disabled user cannot sign in; their sessions end and their applications lose access.
admin-user-disable = Disable the user
admin-user-enable-hint = This user is disabled and cannot sign in.
admin-user-enable = Enable the user
admin-user-factors-hint = Removing the second factors (passkeys, authenticator app, recovery codes) also ends the user's sessions.
admin-user-reset-factors = Remove the second factors
admin-user-password-title = Set a new password
admin-user-new-password = New password
admin-user-password-hint = Setting a password ends the user's sessions. Tell them the new password another way.
admin-user-set-password = Set the password
admin-user-links-title = Upstream identities
admin-user-no-links = No upstream identity signs in as this user.
admin-user-link-line = { $upstream } account { $subject }, linked { $linked }, last used { $used }.
admin-user-link-line-unused = { $upstream } account { $subject }, linked { $linked }, not used yet.
admin-user-remove-link = Remove the link
admin-user-sessions-title = Sessions
admin-user-no-sessions = The user is not signed in anywhere.
admin-user-end-session = End this session
admin-user-end-all-sessions = End every session
admin-user-consents-title = Allowed applications
admin-user-no-consents = The user has not allowed any application.
admin-user-consent-line = { $client }: { $scopes }, allowed { $granted }.
admin-user-revoke-consent = Revoke
admin-user-delete-title = Delete the user
admin-user-delete-hint = Deleting removes the account, its sessions, links and consents. It cannot be undone.
admin-user-delete = Delete the user
admin-user-delete-confirm = Delete the account { $username } for good? Its sessions end and its applications lose access. This cannot be undone.
admin-user-deleted = The user { $username } was deleted.
admin-user-created = The user was created.
admin-user-profile-saved = The profile and groups were saved.
admin-user-now-disabled = The user was disabled and their sessions ended.
admin-user-now-enabled = The user was enabled and can sign in again.
admin-user-password-set = The password was set and the user's sessions ended.
admin-user-factors-reset = { $count ->
    [0] The user had no second factors; their sessions ended.
    [one] One second factor was removed and the user's sessions ended.
   *[other] { $count } second factors were removed and the user's sessions ended.
}
admin-user-sessions-ended = { $count ->
    [one] One session was ended.
   *[other] { $count } sessions were ended.
}
admin-user-link-removed = The upstream identity was unlinked.
admin-user-consent-revoked = The consent was revoked.
admin-groups-title = Groups
admin-groups-hint = A group exists while a user is in it. Change a user's groups on the user's page.
admin-groups-none = No user is in a group.
admin-groups-caption = Groups in use, by name
admin-group-name = Group
admin-group-members = Members
admin-group-members-count = { $count ->
    [one] One member
   *[other] { $count } members
}
admin-group-back = Back to the groups
admin-group-edit-hint = To add or remove a member, change the groups on that user's page.
admin-group-members-caption = Members in username order
admin-group-no-members = No user is in this group.
admin-group-clients-title = Applications for this group
admin-group-no-clients = No application is limited to this group.
admin-group-rules-title = Forward-auth rules
admin-group-no-rules = No forward-auth rule names this group.
admin-group-rule-line = Rule { $number } for { $domains }: { $policy }.
admin-group-policy-bypass = anyone, signed in or not
admin-group-policy-one-factor = signed in
admin-group-policy-two-factor = signed in with two factors
admin-group-policy-deny = nobody
