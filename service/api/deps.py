"""FastAPI dependencies reading the components held by the app's lifespan."""

from typing import Annotated

from fastapi import Depends, Request

from service.wiring import Components


def get_components(request: Request) -> Components:
    components: Components = request.state.components
    return components


ComponentsDep = Annotated[Components, Depends(get_components)]
