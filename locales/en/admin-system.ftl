# The admin console: the sessions, the audit feed and the dashboard.
admin-feed-pager-label = Pages
admin-feed-pager-first = First page
admin-feed-pager-next = Next page
admin-sessions-title = Sessions
admin-sessions-hint = Every browser signed in now, by user. Ending a session signs that browser out at once.
admin-sessions-caption = Live sessions, by user and then oldest first
admin-session-user = User
admin-session-created = Started
admin-session-signed-in = Last signed in
admin-session-methods = Signed in with
admin-session-expires = Ends
admin-session-action = Action
admin-session-this-browser = This browser
admin-session-revoke = End the session
admin-session-revoked = A session of { $user } was ended.
admin-sessions-none = Nobody is signed in.
admin-audit-title = Audit log
admin-audit-actor = Who
admin-audit-action = Action
admin-audit-outcome = Outcome
admin-audit-outcome-any = Any
admin-audit-success = Succeeded
admin-audit-failure = Failed
admin-audit-from = From (date)
admin-audit-to = To (date, included)
admin-audit-filter = Show
admin-audit-hint = An action matches its beginning: “login.” shows every sign-in step. Dates are in UTC. A page looks through a limited part of the log, so a narrow filter may show fewer entries and a link to the next page.
admin-audit-caption = Audit entries, oldest first
admin-audit-time = Time
admin-audit-target = Target
admin-audit-address = Address
admin-audit-count = Times
admin-audit-none = No entries on this page.
admin-audit-bad-date = A date was not understood, so it was left out. Write it as year-month-day, for example 2027-01-15.
admin-dashboard-title = Dashboard
admin-dashboard-counts = How much Latchkey holds
admin-dashboard-users = Users
admin-dashboard-clients = Applications
admin-dashboard-sessions = Sessions stored
admin-dashboard-sign-ins = Sign-ins in the last 24 hours, by hour (UTC)
admin-dashboard-totals = { $succeeded ->
    [one] { $succeeded } sign-in
   *[other] { $succeeded } sign-ins
} and { $failed ->
    [one] { $failed } failed attempt.
   *[other] { $failed } failed attempts.
}
admin-dashboard-chart-label = A bar chart of sign-ins in the last 24 hours, by hour: { $totals } The same figures are in the table below.
admin-dashboard-hour = { $hour }: { $succeeded ->
    [one] { $succeeded } sign-in
   *[other] { $succeeded } sign-ins
}, { $failed ->
    [one] { $failed } failed attempt
   *[other] { $failed } failed attempts
}
admin-dashboard-succeeded = Sign-ins
admin-dashboard-failed = Failed attempts
admin-dashboard-as-table = Show the figures as a table
admin-dashboard-hour-start = Hour
admin-dashboard-manage-keys = Manage the signing keys
admin-dashboard-exposed-file = The data file { $path } has mode { $mode }, so other accounts on this machine can read it. It holds the signing keys: whoever reads it can forge every token. Make it readable by Latchkey alone (chmod 600).
admin-dashboard-exposed-dir = The data directory { $path } has mode { $mode }, so other accounts on this machine can open it. Make it private to Latchkey (chmod 700).
admin-dashboard-no-backup = No backup was made in the last 7 days. Run “latchkey backup” and keep the copy somewhere else.
admin-dashboard-backup-unknown = The audit log of the last 7 days is too long to tell when the last backup was made.
admin-dashboard-chart-partial = There were more sign-in entries than the chart reads at once, so it shows the oldest of them only.
