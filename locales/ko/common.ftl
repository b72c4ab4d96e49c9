# 모든 페이지가 함께 쓰는 말: 틀, 언어 선택, 오류 페이지.

product = Latchkey
language-label = 언어
language-submit = 변경
language-unknown = 지원하지 않는 언어입니다.
list-and = { $first } 및 { $second }
continue = 계속
sign-in = 로그인
sign-out = 로그아웃
sign-in-again = 다시 로그인
your-account = 내 계정
your-applications = 내 애플리케이션
username = 사용자 이름
password = 비밀번호
repeat-password = 비밀번호 확인
display-name = 표시 이름
email = 이메일
optional = (선택 사항)
or = 또는
try-again-title = 다시 시도하십시오
unavailable = Latchkey가 이 요청을 처리하지 못했습니다. 잠시 후 다시 시도하십시오.
unavailable-short = Latchkey가 이 요청을 처리하지 못했습니다. 다시 시도하십시오.
invalid-request-title = 잘못된 요청
request-too-large = 요청이 너무 큽니다.
request-not-valid = 요청이 올바르지 않습니다.
form-expired-title = 양식 만료
form-expired = 양식이 만료되었습니다. 다시 시도하십시오.
form-expired-reload = 이 양식을 확인할 수 없습니다. 이전 페이지로 돌아가 새로 고친 뒤 다시 시도하십시오.
form-expired-retry = 이 양식을 확인할 수 없습니다. 다시 시도하십시오.
form-expired-reload-page = 양식이 만료되었습니다. 페이지를 새로 고친 뒤 다시 시도하십시오.
too-many-attempts-title = 시도 횟수 초과
too-many-attempts = 시도 횟수가 너무 많습니다. 잠시 기다린 뒤 다시 시도하십시오.
session-ended-sign-in = 세션이 끝났습니다. 다시 로그인하십시오.

# 신뢰할 수 없는 인가 요청 (리디렉션하지 않고 페이지로 알립니다).
reason-repeated-parameter = 매개변수 `{ $name }`이(가) 두 번 이상 나옵니다.
reason-missing-client-id = 요청에 client_id가 없습니다.
reason-unknown-client-title = 알 수 없는 애플리케이션
reason-unknown-client = 이 client_id로 등록된 애플리케이션이 없습니다.
reason-redirect-title = 잘못된 리디렉션
reason-unregistered-redirect = 이 redirect_uri는 이 애플리케이션에 등록되어 있지 않습니다.
reason-ambiguous-redirect = 요청에 redirect_uri가 없고, 애플리케이션에는 두 개 이상이 등록되어 있습니다.
reason-session-ended-title = 먼저 로그인하십시오
reason-session-ended = 세션이 끝났습니다. 처음부터 다시 시작하십시오.
params-too-many = 요청의 매개변수가 너무 많습니다.
params-too-long = 매개변수 `{ $name }`이(가) 너무 깁니다.
