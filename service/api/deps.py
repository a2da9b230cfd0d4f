"""FastAPI dependencies reading the components held by the app's lifespan."""

from typing import Annotated

from fastapi import Depends, Request

from service.wiring import Components


def get_components(request: Request) -> Components:
    return request.state.components


ComponentsDep = Annotated[Components, Depends(get_components)]
