# Words every page shares: the frame, the language switcher, error pages.

product = Latchkey
language-label = Language
language-submit = Change
language-unknown = That language is not available.
list-and = { $first } and { $second }
continue = Continue
sign-in = Sign in
sign-out = Sign out
sign-in-again = Sign in again
your-account = Your account
your-applications = Your applications
username = Username
password = Password
repeat-password = Repeat the password
display-name = Display name
email = Email
optional = (optional)
or = or
try-again-title = Try again
unavailable = Latchkey could not complete this request. Please try again in a moment.
unavailable-short = Latchkey could not complete this request. Please try again.
invalid-request-title = Invalid request
request-too-large = The request is too large.
request-not-valid = The request is not valid.
form-expired-title = Form expired
form-expired = The form expired. Please try again.
form-expired-reload = This form could not be verified. Go back, reload the page and try again.
form-expired-retry = This form could not be verified. Try again.
form-expired-reload-page = The form expired. Please reload the page and try again.
too-many-attempts-title = Too many attempts
too-many-attempts = Too many attempts. Wait a moment, then try again.
session-ended-sign-in = Your session ended. Please sign in again.

# Authorization requests that cannot be trusted (a page, never a redirect).
reason-repeated-parameter = The parameter `{ $name }` appears more than once.
reason-missing-client-id = The request has no client_id.
reason-unknown-client-title = Unknown application
reason-unknown-client = No application is registered with this client_id.
reason-redirect-title = Invalid redirect
reason-unregistered-redirect = The redirect_uri is not registered for this application.
reason-ambiguous-redirect = The request has no redirect_uri, and the application has more than one.
reason-session-ended-title = Sign in first
reason-session-ended = Your session has ended; start again.
params-too-many = The request has too many parameters.
params-too-long = The parameter `{ $name }` is too long.
