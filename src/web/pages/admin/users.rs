//! `/admin/users`: NOT BUILT YET (a helper's task).

use poem::Response;

use super::Call;

pub async fn route(call: &Call<'_>) -> Response {
    call.not_found()
}
