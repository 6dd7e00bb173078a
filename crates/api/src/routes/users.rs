use crate::AppState;
use crate::error::ApiResult;
use crate::extract::Authenticated;
use crate::wire::user::UserResponse;
use axum::Json;
use axum::extract::State;

pub async fn get_current_user(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> ApiResult<Json<UserResponse>> {
    Ok(Json(state.control.current_user(&caller).await?.into()))
}
