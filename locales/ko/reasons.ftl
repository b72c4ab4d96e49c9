# 입력이 거부된 이유: 사용 사례가 돌려주는 이유(`service::Invalid`)를 계정, 초기 설정, 초대,
# 관리 페이지에 보여 주는 문장.

invalid-password-too-short = 비밀번호는 { $min }자 이상이어야 합니다.
invalid-password-too-long = 비밀번호는 { $max }자 이하여야 합니다.
invalid-username = 사용자 이름 “{ $username }”은(는) 사용할 수 없습니다. 사용자 이름은 1~{ $max }자의 문자, 숫자, “.”, “_”, “-”, “@”, “+”로만 이루어져야 합니다.
invalid-email = “{ $email }”은(는) 올바른 이메일 주소가 아닙니다.
invalid-person-name = 이름은 제어 문자 없이 { $max }자 이하여야 합니다.
invalid-group = 그룹 “{ $group }”은(는) 사용할 수 없습니다. 그룹 이름은 1~64자의 문자, 숫자, “.”, “_”, “-”로만 이루어져야 합니다.
invalid-client-id = 클라이언트 ID “{ $client }”은(는) 사용할 수 없습니다. 클라이언트 ID는 A–Z, a–z, 0–9, “.”, “_”, “~”, “-”로 이루어진 1~128자여야 합니다.
invalid-client-name = 클라이언트 이름은 제어 문자 없이 1~{ $max }자여야 합니다.
invalid-scope = “{ $scope }”은(는) 올바른 범위(scope)가 아닙니다.
invalid-require-factors = 로그인에 필요한 인증 수단의 수는 1 또는 2여야 합니다.
invalid-redirect-uri = 리디렉션 URI “{ $uri }”은(는) 등록할 수 없습니다. { $problem }
invalid-launch-url = 실행 URL “{ $uri }”은(는) 등록할 수 없습니다. { $problem }
invalid-icon-url = 아이콘 URL “{ $uri }”은(는) 등록할 수 없습니다. { $problem }
uri-too-long = 2048자보다 깁니다.
uri-whitespace = 공백이나 제어 문자가 들어 있습니다.
uri-encoded-control = 퍼센트 인코딩된 제어 문자가 들어 있습니다.
uri-wildcard = 와일드카드가 들어 있습니다. 주소는 정확히 일치해야 합니다.
uri-fragment = RFC 6749에서 금지하는 프래그먼트(#)가 있습니다.
uri-http-localhost = localhost에서 일반 http를 사용합니다. http://127.0.0.1(포트 무관)을 사용하거나, 이 클라이언트에 http://localhost를 허용하십시오(개발용).
uri-plain-http = 일반 http를 사용합니다. https만 허용되며, 네이티브 앱은 127.0.0.1이나 [::1]에서 http를 사용할 수 있습니다.
uri-scheme = https://(또는 http://127.0.0.1, http://[::1])로 시작해야 합니다.
uri-user-info = 호스트 앞에 사용자 정보가 있습니다.
uri-no-host = 호스트가 없습니다.
uri-encoded-host = 호스트가 인코딩되거나 이스케이프되어 있습니다.
uri-encoded-path = 경로에 인코딩된 점, 슬래시 또는 백슬래시가 있습니다.
uri-dot-segment = 경로에 “.” 또는 “..” 구간이 있습니다.
uri-not-absolute = 올바른 절대 URL이 아닙니다.
invalid-icon-too-long = 아이콘은 최대 { $max }자(16 KiB)까지 가능하지만, 이 아이콘은 { $len }자입니다.
invalid-icon-not-base64 = 아이콘의 data: URL에 올바른 base64 데이터가 없습니다.
invalid-icon-not-png = 아이콘이 image/png라고 되어 있지만 데이터가 PNG가 아닙니다.
invalid-icon-scheme = 아이콘은 https:// URL이거나 data:image/png;base64, 또는 data:image/svg+xml;base64, URL이어야 합니다.
invalid-no-grant-type = 클라이언트에는 그랜트 유형이 하나 이상 있어야 합니다.
invalid-no-redirect-uri = authorization_code를 사용하는 클라이언트에는 리디렉션 URI가 하나 이상 있어야 합니다.
invalid-public-client-credentials = client_credentials는 기밀 클라이언트만 사용할 수 있습니다.
invalid-public-without-pkce = 공개 클라이언트에서는 PKCE를 끌 수 없습니다.
invalid-http-localhost = http://localhost 주소에는 allow_http_localhost 설정이 필요합니다. 또는 http://127.0.0.1을 사용하십시오.
invalid-http-launch-url = http:// 실행 URL(localhost, 127.0.0.1, [::1]만 가능)에는 allow_http_localhost 설정이 필요합니다.
invalid-allowed-group = 그룹 이름은 1~64자의 문자, 숫자, “.”, “_”, “-”로만 이루어져야 합니다.
invalid-resource = 리소스는 프래그먼트가 없는 절대 https URI(루프백 주소에서는 http도 가능)여야 합니다(RFC 8707).
invalid-outbound-not-http = “{ $url }”은(는) 호스트가 있는 http 또는 https URL이 아닙니다.
invalid-outbound-address = { $class ->
    [unspecified] “{ $host }”은(는) 지정되지 않은 주소입니다
    [loopback] “{ $host }”은(는) 루프백 주소입니다
    [private] “{ $host }”은(는) 사설 주소입니다
    [link-local] “{ $host }”은(는) 링크 로컬 주소입니다
    [shared] “{ $host }”은(는) 공유(통신사 NAT) 주소입니다
    [multicast] “{ $host }”은(는) 멀티캐스트 주소입니다
   *[reserved] “{ $host }”은(는) 예약된 주소입니다
}. 서버는 outbound의 allow_networks 설정에서 그 네트워크를 허용한 경우에만 이 주소를 호출합니다.
invalid-outbound-localhost = “{ $host }”은(는) 이 컴퓨터를 가리킵니다. 서버는 outbound의 allow_networks 설정에서 127.0.0.0/8과 ::1/128을 허용한 경우에만 이 주소를 호출합니다.
invalid-upstream-name = 외부 로그인 제공자의 이름은 1~32자의 영문 소문자, 숫자, “-”로만 이루어져야 합니다.
invalid-upstream-subject = 외부 로그인 제공자의 subject는 1~{ $max }바이트의 출력 가능한 문자여야 합니다.
invalid-invitation-lifetime = 초대의 유효 기간은 1~{ $max }시간이어야 합니다.
invalid-request = 요청을 읽을 수 없습니다.
invalid-other = 이 값은 허용되지 않습니다.

# 변경이 저장된 내용과 충돌하는 이유: 사용 사례가 돌려주는 이유(`service::Conflict`)를 관리 콘솔에
# 보여 주는 문장.

conflict-username-taken = 사용자 이름 “{ $username }”은(는) 이미 다른 사용자가 쓰고 있습니다.
conflict-passkey-taken = 이 패스키는 이미 다른 사용자에게 등록되어 있습니다.
conflict-path-exists = “{ $path }”이(가) 이미 있습니다. 아무것도 없는 경로를 고르십시오.
conflict-client-exists = ID가 “{ $client }”인 클라이언트가 이미 등록되어 있습니다.
conflict-client-declared = 클라이언트 “{ $client }”은(는) 설정 파일에 선언되어 있습니다. 설정 파일에서 변경하십시오.
conflict-client-declared-and-stored = 클라이언트 “{ $client }”은(는) 설정 파일에 선언되어 있지만 명령줄이나 관리 API로도 만들어졌습니다. 둘 중 하나를 삭제하십시오.
conflict-client-public = 클라이언트 “{ $client }”은(는) 공개 클라이언트여서 바꿀 시크릿이 없습니다.
conflict-no-free-username = 이 계정에 쓸 수 있는 사용자 이름을 찾지 못했습니다.
conflict-upstream-linked = 이 { $upstream } 신원은 이미 “{ $owner }”에게 연결되어 있습니다. 먼저 그 연결을 해제하십시오.
conflict-last-administrator = “{ $username }”은(는) “{ $group }” 그룹에 남은 마지막 활성 구성원입니다. 이 사용자가 없으면 아무도 관리 콘솔이나 관리 API를 열 수 없습니다. 먼저 다른 사용자를 관리자로 지정하십시오.
conflict-other = 이 변경은 저장된 내용과 충돌합니다.
