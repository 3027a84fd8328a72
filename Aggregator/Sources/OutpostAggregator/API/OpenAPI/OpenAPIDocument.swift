/// The OpenAPI 3.1 document of the admin API, served byte for byte at `/api/v1/openapi.json`.
///
/// Hand-written and kept here as the single source; the tests check every response they
/// see against it, and that its operations are exactly ``AccessPolicy/rules``.
enum OpenAPIDocument {
    static let json = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "Outpost admin API",
    "version": "1",
    "description": "JSON over HTTPS. Every error is {error:{code,message,requestId}}. x-minimum-role names the least role that may call an operation (absent: public). Text anywhere in a request (body fields at any depth, keys, query parameters) must not contain U+0000 or a lone UTF-16 surrogate, which PostgreSQL cannot store: such a request is 422 validation_failed naming the field (400 invalid_parameter in a query string). String lengths count Unicode code points, as JSON Schema does. A method a path does not declare is 405 with Allow, TRACE included."
  },
  "servers": [
    {
      "url": "/api/v1"
    }
  ],
  "security": [
    {
      "bearer": []
    },
    {
      "apiKey": []
    }
  ],
  "paths": {
    "/openapi.json": {
      "get": {
        "summary": "This document.",
        "responses": {
          "200": {
            "description": "OpenAPI 3.1 document.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "security": []
      }
    },
    "/auth/login": {
      "post": {
        "summary": "Log in with a username and password.",
        "responses": {
          "200": {
            "description": "Access and refresh tokens.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Tokens"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "security": [],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/LoginRequest"
              }
            }
          }
        }
      }
    },
    "/auth/refresh": {
      "post": {
        "summary": "Rotate a refresh token. Reusing a spent one revokes its family.",
        "responses": {
          "200": {
            "description": "New tokens.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Tokens"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "security": [],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/RefreshRequest"
              }
            }
          }
        }
      }
    },
    "/auth/logout": {
      "post": {
        "summary": "Revoke the refresh token's family.",
        "responses": {
          "204": {
            "description": "Logged out (also when the token was unknown)."
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "security": [],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/RefreshRequest"
              }
            }
          }
        }
      }
    },
    "/me": {
      "get": {
        "summary": "Who am I.",
        "responses": {
          "200": {
            "description": "The caller.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Me"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "viewer"
      }
    },
    "/me/password": {
      "post": {
        "summary": "Change your own password (signed-in users; an API key has none): 204, then every refresh token of yours is revoked, so other sessions end at their next refresh. Audited as user.password_change.",
        "responses": {
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "204": {
            "description": "Changed."
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "viewer",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/ChangePassword"
              }
            }
          }
        }
      }
    },
    "/users": {
      "get": {
        "summary": "List users.",
        "responses": {
          "200": {
            "description": "Users.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/UserList"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "admin"
      },
      "post": {
        "summary": "Create a user.",
        "responses": {
          "201": {
            "description": "Created.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/User"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "admin",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/CreateUser"
              }
            }
          }
        }
      }
    },
    "/users/{username}": {
      "patch": {
        "summary": "Change a user's role or disable the account; the user's refresh tokens are revoked.",
        "responses": {
          "200": {
            "description": "The user.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/User"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "admin",
        "parameters": [
          {
            "name": "username",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9._-]{0,62}$"
            }
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/UpdateUser"
              }
            }
          }
        }
      }
    },
    "/users/{username}/password-reset": {
      "post": {
        "summary": "Reset a user's password to a one-time password that must be changed at the next login; the user's refresh tokens are revoked. Audited as user.password_reset. 409 for your own account (use POST /me/password).",
        "responses": {
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "200": {
            "description": "The one-time password.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/PasswordReset"
                }
              }
            }
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "admin",
        "parameters": [
          {
            "name": "username",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9._-]{0,62}$"
            }
          }
        ]
      }
    },
    "/api-keys": {
      "get": {
        "summary": "List API keys (never their secrets).",
        "responses": {
          "200": {
            "description": "Keys.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/APIKeyList"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "admin"
      },
      "post": {
        "summary": "Create an API key; the secret is shown once.",
        "responses": {
          "201": {
            "description": "Created.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/CreatedAPIKey"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "admin",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/CreateAPIKey"
              }
            }
          }
        }
      }
    },
    "/api-keys/{id}": {
      "delete": {
        "summary": "Revoke an API key at once. 409 when the key would revoke itself (use another credential).",
        "responses": {
          "204": {
            "description": "Revoked."
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          }
        },
        "x-minimum-role": "admin",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[a-f0-9]{16}$"
            }
          }
        ]
      }
    },
    "/devices": {
      "get": {
        "summary": "List devices.",
        "responses": {
          "200": {
            "description": "A page of devices, by id.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/DevicePage"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "viewer",
        "parameters": [
          {
            "name": "kind",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "enum": [
                "meter",
                "camera"
              ]
            },
            "description": "Device kind."
          },
          {
            "name": "status",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "enum": [
                "unknown",
                "online",
                "offline",
                "revoked",
                "decommissioned"
              ]
            },
            "description": "Status."
          },
          {
            "name": "tag",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9:._-]{0,62}$"
            },
            "description": "Has this tag."
          },
          {
            "name": "q",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 100,
              "pattern": "^[^\\u0000-\\u001F\\u007F-\\u009F]*$",
              "description": "1-100 characters (code points), no control characters; matched case-insensitively in id and name."
            },
            "description": "Text in the id or name."
          },
          {
            "name": "cursor",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9-]{0,62}$",
              "description": "nextCursor of the previous page: the last device id."
            },
            "description": "nextCursor from the previous page."
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 500
            },
            "description": "Page size, 1-500 (default 100)."
          }
        ]
      }
    },
    "/devices/{id}": {
      "get": {
        "summary": "One device.",
        "responses": {
          "200": {
            "description": "The device.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Device"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "viewer",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9-]{0,62}$",
              "description": "A device id; any other text is 404."
            }
          }
        ]
      },
      "patch": {
        "summary": "Change name, tags or metadata.",
        "responses": {
          "200": {
            "description": "The device after the change.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Device"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "operator",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9-]{0,62}$",
              "description": "A device id; any other text is 404."
            }
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/DevicePatch"
              }
            }
          }
        }
      }
    },
    "/devices/{id}/decommission": {
      "post": {
        "summary": "Decommission: the device is marked decommissioned (its readings refused), then revoked exactly as by POST /devices/{id}/certificates/revoke and `cert revoke`: certificates revoked, CRL published, broker reloaded, live session ended. 503 ca_unavailable without a CA (nothing changes); 502 broker_unreachable when the broker could not be reloaded (the decommission and revocation are recorded and the CRL written; repeat to finish). The answer waits for the broker: measured 0.1 s for a live device on loopback; bounded by 15 s for the broker to refuse a revoked probe certificate plus 15 s to end the device's session (each connection attempt at most 10 s), so never more than about 50 s, after which 502 broker_unreachable.",
        "responses": {
          "200": {
            "description": "The device.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Device"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          },
          "502": {
            "$ref": "#/components/responses/BadGateway"
          }
        },
        "x-minimum-role": "admin",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9-]{0,62}$",
              "description": "A device id; any other text is 404."
            }
          }
        ]
      }
    },
    "/devices/{id}/broker": {
      "get": {
        "summary": "The broker a device belongs on (brokers in the aggregator configuration): the rendezvous hash of its id over the broker names, unless an operator override names a configured broker. The config endpoint gives the device this broker at its next enrollment or renewal.",
        "responses": {
          "200": {
            "description": "The device's broker.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/DeviceBroker"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "x-minimum-role": "viewer",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9-]{0,62}$",
              "description": "A device id; any other text is 404."
            }
          }
        ]
      },
      "put": {
        "summary": "Pin a device to a configured broker ({\"broker\": \"name\"}) or hand it back to the hash ({\"broker\": null}); audited (device.broker_override). The device moves at its next renewal (outpost-agent renew, or its schedule) and keeps its buffer meanwhile; see docs/scale.md, Moving a device.",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/DeviceBrokerInput"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The device's broker after the change.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/DeviceBroker"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "x-minimum-role": "admin",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9-]{0,62}$",
              "description": "A device id; any other text is 404."
            }
          }
        ]
      }
    },
    "/devices/{id}/readings": {
      "get": {
        "summary": "One metric of one device over [from, to), raw or in UTC buckets with avg/min/max/count.",
        "responses": {
          "200": {
            "description": "A page. Raw pages hold at most limit readings; bucket pages cover at most limit bucket widths.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ReadingsPage"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "viewer",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9-]{0,62}$",
              "description": "A device id; any other text is 404."
            }
          },
          {
            "name": "metric",
            "in": "query",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[a-z][a-z0-9_.]{0,63}$"
            },
            "description": "Metric name; 404 unknown_metric when the device has no readings of it."
          },
          {
            "name": "from",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "description": "Start (inclusive), RFC 3339. Default: 24 h before to."
          },
          {
            "name": "to",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "description": "End (exclusive). Default: now. A range that is empty (to not after from) gives an empty page."
          },
          {
            "name": "bucket",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "enum": [
                "raw",
                "1m",
                "1h",
                "1d"
              ]
            },
            "description": "Default raw."
          },
          {
            "name": "cursor",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "pattern": "^-?[0-9]{1,16}(\\.[0-9a-f]{16}\\.[0-9]{1,18})?$",
              "description": "nextCursor of the previous page: a time in microseconds, for raw pages followed by the reading's buffer (16 hex digits) and seq. A bare time starts a raw page at that time and a bucketed page at that bucket."
            },
            "description": "nextCursor from the previous page."
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 10000
            },
            "description": "1-10000, default 1000."
          }
        ]
      }
    },
    "/devices/{id}/readings/latest": {
      "get": {
        "summary": "The newest reading of each metric of a device.",
        "responses": {
          "200": {
            "description": "Latest values.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/LatestReadings"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "viewer",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9-]{0,62}$",
              "description": "A device id; any other text is 404."
            }
          }
        ]
      }
    },
    "/devices/{id}/readings/export": {
      "get": {
        "summary": "Stream a device's readings as CSV or NDJSON; memory stays flat for any range.",
        "responses": {
          "200": {
            "description": "CSV (ts,device,metric,value,buffer,seq) or NDJSON, one reading per line.",
            "content": {
              "text/csv": {
                "schema": {
                  "type": "string"
                }
              },
              "application/x-ndjson": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "viewer",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9-]{0,62}$",
              "description": "A device id; any other text is 404."
            }
          },
          {
            "name": "metric",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "pattern": "^[a-z][a-z0-9_.]{0,63}$"
            },
            "description": "Only this metric."
          },
          {
            "name": "from",
            "in": "query",
            "required": true,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "description": "Start, RFC 3339."
          },
          {
            "name": "to",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "description": "End (exclusive). Default: now. A range that is empty (to not after from) gives an empty export."
          },
          {
            "name": "format",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "enum": [
                "csv",
                "ndjson"
              ]
            },
            "description": "Default ndjson."
          }
        ]
      }
    },
    "/devices/{id}/commands": {
      "get": {
        "summary": "A device's commands, newest first.",
        "responses": {
          "200": {
            "description": "A page of commands.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/CommandPage"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "viewer",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9-]{0,62}$",
              "description": "A device id; any other text is 404."
            }
          },
          {
            "name": "status",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "enum": [
                "queued",
                "sent",
                "succeeded",
                "failed",
                "expired"
              ]
            },
            "description": "Only this state."
          },
          {
            "name": "cursor",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "pattern": "^-?[0-9]{1,16}\\.[A-Za-z0-9_-]{1,64}$",
              "description": "nextCursor of the previous page: the last command's creation time (microseconds) and id."
            },
            "description": "nextCursor from the previous page."
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 500
            },
            "description": "Page size, 1-500 (default 100)."
          }
        ]
      },
      "post": {
        "summary": "Queue a command; the dispatcher sends it and records the outcome.",
        "responses": {
          "201": {
            "description": "Queued.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Command"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "operator",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9-]{0,62}$",
              "description": "A device id; any other text is 404."
            }
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/SendCommand"
              }
            }
          }
        }
      }
    },
    "/commands/{id}": {
      "get": {
        "summary": "One command and its state.",
        "responses": {
          "200": {
            "description": "The command.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Command"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "viewer",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[A-Za-z0-9_-]{1,64}$"
            }
          }
        ]
      }
    },
    "/devices/{id}/streams/start": {
      "post": {
        "summary": "Start a camera's RTP stream (start_stream) and wait for the agent's SDP offer.",
        "responses": {
          "200": {
            "description": "Started; offer holds the SDP.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/StreamResult"
                }
              }
            }
          },
          "202": {
            "description": "Not answered within wait; poll /commands/{id} (Location).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/StreamResult"
                }
              }
            }
          },
          "502": {
            "$ref": "#/components/responses/BadGateway"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "operator",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9-]{0,62}$",
              "description": "A device id; any other text is 404."
            }
          },
          {
            "name": "wait",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 30
            },
            "description": "Seconds to wait for the agent, default 20."
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/StreamRequest"
              }
            }
          }
        },
        "description": "A camera that is not online is refused at once with 409 device_offline (no command is queued). An online camera is waited for at most `wait` seconds (default 20): 200 with the outcome when the agent answers in time, else 202 with the command to follow at Location. 409 conflict when the device is not a camera."
      }
    },
    "/devices/{id}/live": {
      "post": {
        "summary": "Start (or join) a camera's live view: a Janus mountpoint fed by the agent as SRTP with a fresh key.",
        "responses": {
          "201": {
            "description": "Started.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/LiveView"
                }
              }
            }
          },
          "200": {
            "description": "Already live; joined.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/LiveView"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "502": {
            "$ref": "#/components/responses/BadGateway"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          }
        },
        "x-minimum-role": "viewer",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/LiveStartRequest"
              }
            }
          }
        }
      },
      "get": {
        "summary": "The camera's live view, if any.",
        "responses": {
          "200": {
            "description": "Live.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/LiveView"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "502": {
            "$ref": "#/components/responses/BadGateway"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "x-minimum-role": "viewer",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ]
      },
      "delete": {
        "summary": "End the camera's live view: stop_stream to the agent, the mountpoint removed.",
        "responses": {
          "204": {
            "description": "Ended."
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "502": {
            "$ref": "#/components/responses/BadGateway"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "x-minimum-role": "operator",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ]
      }
    },
    "/live/janus": {
      "post": {
        "summary": "Janus API for janus.js: create a session (requests are checked: only the streaming plugin, only watching live mountpoints).",
        "responses": {
          "200": {
            "description": "Janus's answer, as Janus sent it.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/JanusMessage"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "502": {
            "$ref": "#/components/responses/BadGateway"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "x-minimum-role": "viewer",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/JanusMessage"
              }
            }
          }
        }
      }
    },
    "/live/janus/{session}": {
      "post": {
        "summary": "Janus API: attach, keepalive, destroy.",
        "responses": {
          "200": {
            "description": "Janus's answer, as Janus sent it.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/JanusMessage"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "502": {
            "$ref": "#/components/responses/BadGateway"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "x-minimum-role": "viewer",
        "parameters": [
          {
            "name": "session",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[1-9][0-9]{0,18}$",
              "description": "A Janus id: a positive integer."
            }
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/JanusMessage"
              }
            }
          }
        }
      },
      "get": {
        "summary": "Janus API: the session's long poll for events.",
        "responses": {
          "200": {
            "description": "Janus's answer, as Janus sent it.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/JanusMessage"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "502": {
            "$ref": "#/components/responses/BadGateway"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "x-minimum-role": "viewer",
        "parameters": [
          {
            "name": "session",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[1-9][0-9]{0,18}$",
              "description": "A Janus id: a positive integer."
            }
          },
          {
            "name": "maxev",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer"
            }
          },
          {
            "name": "rid",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "_",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            }
          }
        ]
      }
    },
    "/live/janus/{session}/{handle}": {
      "post": {
        "summary": "Janus API: watch, start, pause, stop, trickle, hangup, detach.",
        "responses": {
          "200": {
            "description": "Janus's answer, as Janus sent it.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/JanusMessage"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "502": {
            "$ref": "#/components/responses/BadGateway"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "x-minimum-role": "viewer",
        "parameters": [
          {
            "name": "session",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[1-9][0-9]{0,18}$",
              "description": "A Janus id: a positive integer."
            }
          },
          {
            "name": "handle",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[1-9][0-9]{0,18}$",
              "description": "A Janus id: a positive integer."
            }
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/JanusMessage"
              }
            }
          }
        }
      }
    },
    "/devices/{id}/streams/stop": {
      "post": {
        "summary": "Stop a camera's stream (stop_stream) and wait for the agent.",
        "responses": {
          "200": {
            "description": "Stopped.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/StreamResult"
                }
              }
            }
          },
          "202": {
            "description": "Not answered within wait; poll /commands/{id} (Location).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/StreamResult"
                }
              }
            }
          },
          "502": {
            "$ref": "#/components/responses/BadGateway"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "operator",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9-]{0,62}$",
              "description": "A device id; any other text is 404."
            }
          },
          {
            "name": "wait",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 30
            },
            "description": "Seconds to wait for the agent, default 20."
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/StreamRequest"
              }
            }
          }
        },
        "description": "A camera that is not online is refused at once with 409 device_offline (no command is queued). An online camera is waited for at most `wait` seconds (default 20): 200 with the outcome when the agent answers in time, else 202 with the command to follow at Location. 409 conflict when the device is not a camera."
      }
    },
    "/devices/{id}/recordings": {
      "get": {
        "summary": "A camera's recorded segments starting in [from, to), oldest first (deleted ones are not listed). 503 recordings_unavailable unless recordings.enabled.",
        "responses": {
          "200": {
            "description": "A page of segments.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/RecordingPage"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "x-minimum-role": "viewer",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9-]{0,62}$",
              "description": "A device id; any other text is 404."
            }
          },
          {
            "name": "from",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "description": "Start (inclusive), RFC 3339."
          },
          {
            "name": "to",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "description": "End (exclusive), RFC 3339."
          },
          {
            "name": "cursor",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "pattern": "^-?[0-9]{1,16}\\.[0-9]{1,18}$",
              "description": "nextCursor of the previous page: the last segment's start (microseconds) and id."
            },
            "description": "nextCursor from the previous page."
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 500
            },
            "description": "Page size, 1-500 (default 100)."
          }
        ]
      },
      "delete": {
        "summary": "Delete a camera's segments starting in [from, to): rows deleted (reason manual), files removed, one audit entry (recording.delete). 503 recordings_unavailable unless recordings.enabled.",
        "responses": {
          "200": {
            "description": "How many segments were deleted.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/RecordingsDeleted"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "x-minimum-role": "operator",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9-]{0,62}$",
              "description": "A device id; any other text is 404."
            }
          },
          {
            "name": "from",
            "in": "query",
            "required": true,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "description": "Start (inclusive), RFC 3339."
          },
          {
            "name": "to",
            "in": "query",
            "required": true,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "description": "End (exclusive); a range that is empty deletes nothing."
          }
        ]
      }
    },
    "/devices/{id}/recording": {
      "get": {
        "summary": "A camera's recording mode, its own retention limits and its storage totals. 503 recordings_unavailable unless recordings.enabled.",
        "responses": {
          "200": {
            "description": "Mode, limits, totals.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/RecordingSetting"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "x-minimum-role": "viewer",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9-]{0,62}$",
              "description": "A device id; any other text is 404."
            }
          }
        ]
      },
      "put": {
        "summary": "Set a camera's recording mode (off, continuous, on_demand for durationSeconds) and its own quota and age limits; audited (recording.settings). 503 recordings_unavailable unless recordings.enabled.",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/RecordingSettingInput"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The new setting.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/RecordingSetting"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          }
        },
        "x-minimum-role": "operator",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9-]{0,62}$",
              "description": "A device id; any other text is 404."
            }
          }
        ]
      }
    },
    "/recording-storage": {
      "get": {
        "summary": "All recordings together: bytes, segments, the oldest, deletions by reason, free bytes against the floor. 503 recordings_unavailable unless recordings.enabled.",
        "responses": {
          "200": {
            "description": "Totals.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/RecordingStorage"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "x-minimum-role": "viewer"
      }
    },
    "/recordings/{id}": {
      "delete": {
        "summary": "Delete one segment (reason manual); audited (recording.delete). 503 recordings_unavailable unless recordings.enabled.",
        "responses": {
          "204": {
            "description": "Deleted."
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "x-minimum-role": "operator",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[0-9]{1,18}$",
              "description": "A recording id."
            }
          }
        ]
      }
    },
    "/recordings/{id}/video": {
      "get": {
        "summary": "A complete segment's MP4 (moov first, plays as it is). Honors one HTTP Range: 206 with Content-Range, 416 outside the file. 503 recordings_unavailable unless recordings.enabled.",
        "responses": {
          "200": {
            "description": "The whole file.",
            "content": {
              "video/mp4": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "206": {
            "description": "The requested bytes.",
            "content": {
              "video/mp4": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "416": {
            "description": "range_not_satisfiable; Content-Range: bytes */size.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "x-minimum-role": "viewer",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[0-9]{1,18}$",
              "description": "A recording id."
            }
          }
        ]
      }
    },
    "/recordings/{id}/thumbnail": {
      "get": {
        "summary": "A complete segment's JPEG thumbnail (its first keyframe, at most 320 px wide). Honors one HTTP Range. 503 recordings_unavailable unless recordings.enabled.",
        "responses": {
          "200": {
            "description": "The JPEG.",
            "content": {
              "image/jpeg": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "206": {
            "description": "The requested bytes.",
            "content": {
              "image/jpeg": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "416": {
            "description": "range_not_satisfiable.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "x-minimum-role": "viewer",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[0-9]{1,18}$",
              "description": "A recording id."
            }
          }
        ]
      }
    },
    "/devices/{id}/certificates": {
      "get": {
        "summary": "Every certificate the fleet CA issued to a device, newest first.",
        "responses": {
          "200": {
            "description": "Certificates.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/CertificateList"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "admin",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9-]{0,62}$",
              "description": "A device id; any other text is 404."
            }
          }
        ]
      }
    },
    "/enrollment-tokens": {
      "get": {
        "summary": "Enrollment tokens (their records; secrets are never stored).",
        "responses": {
          "200": {
            "description": "Tokens, newest first.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/EnrollmentTokenList"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "admin",
        "parameters": [
          {
            "name": "device",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"
            },
            "description": "Only this device."
          },
          {
            "name": "state",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "enum": [
                "all",
                "pending"
              ]
            },
            "description": "pending: unused and unexpired."
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 500
            },
            "description": "Page size, 1-500 (default 100)."
          }
        ]
      },
      "post": {
        "summary": "Create a one-time enrollment token for a device (the device row is created if new); the token is shown once. 503 ca_unavailable without a CA.",
        "responses": {
          "201": {
            "description": "Created.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/CreatedEnrollmentToken"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "operator",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/CreateEnrollmentToken"
              }
            }
          }
        }
      }
    },
    "/devices/{id}/events": {
      "get": {
        "summary": "A device's stored events (stream statistics and states, buffer drops, warnings), newest first; new ones arrive live as device.event on /events.",
        "responses": {
          "200": {
            "description": "A page of at most limit events.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/DeviceEventsPage"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "viewer",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9-]{0,62}$",
              "description": "A device id; any other text is 404."
            }
          },
          {
            "name": "from",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "description": "Oldest event time (inclusive), RFC 3339. Default: the oldest stored."
          },
          {
            "name": "to",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "description": "Newest event time (exclusive). Default: now."
          },
          {
            "name": "kind",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "pattern": "^[a-z][a-z0-9_]{0,63}$"
            },
            "description": "Only this kind, e.g. stream_stats, stream_state, buffer_dropped, warning."
          },
          {
            "name": "cursor",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "pattern": "^-?[0-9]{1,16}\\.[0-9]{1,18}$",
              "description": "nextCursor of the previous page: the last event's time in microseconds and its id."
            },
            "description": "nextCursor from the previous page."
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 1000
            },
            "description": "1-1000, default 100."
          }
        ]
      }
    },
    "/events": {
      "get": {
        "summary": "Live events (Server-Sent Events): device.status, command.status and device.event, as JSON in each data line.",
        "responses": {
          "200": {
            "description": "text/event-stream; `event: {type}` then `data: {json}`, where x-events gives the schema of each type's data; a comment line every 15 s.",
            "content": {
              "text/event-stream": {
                "schema": {
                  "type": "object",
                  "description": "One server-sent event (OpenAPI 3.1: the schema describes each event): its type, and its data as JSON text whose schema x-events gives per type.",
                  "properties": {
                    "event": {
                      "type": "string",
                      "enum": [
                        "device.status",
                        "command.status",
                        "device.event"
                      ]
                    },
                    "data": {
                      "type": "string"
                    }
                  },
                  "required": [
                    "event",
                    "data"
                  ]
                },
                "x-events": {
                  "device.status": {
                    "$ref": "#/components/schemas/DeviceStatusEvent"
                  },
                  "command.status": {
                    "$ref": "#/components/schemas/CommandStatusEvent"
                  },
                  "device.event": {
                    "$ref": "#/components/schemas/DeviceEventEvent"
                  }
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "viewer",
        "parameters": [
          {
            "name": "device",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"
            },
            "description": "Only this device's events."
          }
        ]
      }
    },
    "/audit": {
      "get": {
        "summary": "The audit log, newest first.",
        "responses": {
          "200": {
            "description": "A page of entries.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/AuditPage"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "admin",
        "parameters": [
          {
            "name": "action",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "pattern": "^[a-z_]{1,40}(\\.[a-z_]{1,40})+$",
              "description": "An action such as device.patch."
            },
            "description": "Only this action, e.g. device.patch."
          },
          {
            "name": "target",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 200,
              "pattern": "^[^\\u0000-\\u001F\\u007F-\\u009F]*$",
              "description": "1-200 characters (code points), no control characters, e.g. device:meter-1."
            },
            "description": "Only this target, e.g. device:cam-1."
          },
          {
            "name": "actor",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 200,
              "pattern": "^[^\\u0000-\\u001F\\u007F-\\u009F]*$",
              "description": "1-200 characters (code points), no control characters."
            },
            "description": "Only this actor (exactly), e.g. alice, an API key id, cli:root."
          },
          {
            "name": "from",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "description": "Entries at or after this time, RFC 3339."
          },
          {
            "name": "to",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "description": "Entries before this time, RFC 3339."
          },
          {
            "name": "cursor",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "pattern": "^[0-9]{1,18}$",
              "description": "nextCursor of the previous page: the last entry's id."
            },
            "description": "nextCursor from the previous page."
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 500
            },
            "description": "Page size, 1-500 (default 100)."
          }
        ]
      }
    },
    "/rejected-messages": {
      "get": {
        "summary": "Dead letters, newest first: device messages that passed the wire checks but that PostgreSQL refused for their data (SQLSTATE class 22, 23 or 54). The rest of their batch was stored.",
        "responses": {
          "200": {
            "description": "A page of dead letters.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/RejectedMessagePage"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "admin",
        "parameters": [
          {
            "name": "device",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"
            },
            "description": "Only this device's dead letters."
          },
          {
            "name": "cursor",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "pattern": "^[0-9]{1,18}$",
              "description": "nextCursor of the previous page: the last dead letter's id."
            },
            "description": "nextCursor from the previous page."
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 500
            },
            "description": "Page size, 1-500 (default 100)."
          }
        ]
      }
    },
    "/enrollment-tokens/{id}": {
      "delete": {
        "summary": "Revoke an unused enrollment token by expiring it now. 409 when it was used already.",
        "responses": {
          "204": {
            "description": "Revoked."
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "operator",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[0-9a-f]{64}$"
            },
            "description": "The token id (the hash the POST answered)."
          }
        ]
      }
    },
    "/devices/{id}/certificates/revoke": {
      "post": {
        "summary": "Revoke every certificate of the device, publish the CRL, reload the broker and end its live session (as `cert revoke`). 502 broker_unreachable when the broker could not be reloaded (the revocation is recorded and the CRL written).",
        "responses": {
          "200": {
            "description": "What was revoked.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/CertificateRevocation"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/RateLimited"
          },
          "500": {
            "$ref": "#/components/responses/ServerError"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "502": {
            "$ref": "#/components/responses/BadGateway"
          },
          "405": {
            "$ref": "#/components/responses/MethodNotAllowed"
          }
        },
        "x-minimum-role": "admin",
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9-]{0,62}$",
              "description": "A device id; any other text is 404."
            },
            "description": "Device id."
          }
        ]
      }
    }
  },
  "components": {
    "schemas": {
      "Recording": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string",
            "pattern": "^[0-9]{1,18}$"
          },
          "device": {
            "type": "string"
          },
          "startedAt": {
            "type": "string",
            "format": "date-time"
          },
          "endedAt": {
            "type": "string",
            "format": "date-time"
          },
          "durationMs": {
            "type": "integer",
            "minimum": 0
          },
          "bytes": {
            "type": "integer",
            "minimum": 0
          },
          "codec": {
            "type": "string"
          },
          "width": {
            "type": "integer",
            "minimum": 0
          },
          "height": {
            "type": "integer",
            "minimum": 0
          },
          "state": {
            "type": "string",
            "enum": [
              "recording",
              "complete",
              "missing",
              "deleted"
            ]
          },
          "videoPath": {
            "type": "string"
          },
          "thumbnailPath": {
            "type": [
              "string",
              "null"
            ]
          }
        },
        "required": [
          "id",
          "device",
          "startedAt",
          "endedAt",
          "durationMs",
          "bytes",
          "codec",
          "width",
          "height",
          "state",
          "videoPath",
          "thumbnailPath"
        ],
        "additionalProperties": false
      },
      "RecordingPage": {
        "type": "object",
        "properties": {
          "items": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Recording"
            }
          },
          "nextCursor": {
            "type": [
              "string",
              "null"
            ]
          }
        },
        "required": [
          "items",
          "nextCursor"
        ],
        "additionalProperties": false
      },
      "RecordingsDeleted": {
        "type": "object",
        "properties": {
          "deleted": {
            "type": "integer",
            "minimum": 0
          }
        },
        "required": [
          "deleted"
        ],
        "additionalProperties": false
      },
      "DeviceBroker": {
        "type": "object",
        "required": [
          "device",
          "broker",
          "hashed",
          "override"
        ],
        "properties": {
          "device": {
            "type": "string"
          },
          "broker": {
            "type": "string",
            "description": "Where the device belongs now: override when it names a configured broker, else hashed."
          },
          "hashed": {
            "type": "string",
            "description": "The rendezvous hash's choice (SHA-256 of name NUL device id; highest wins)."
          },
          "override": {
            "type": [
              "string",
              "null"
            ],
            "description": "The operator's override, or null."
          }
        },
        "additionalProperties": false
      },
      "DeviceBrokerInput": {
        "type": "object",
        "required": [
          "broker"
        ],
        "properties": {
          "broker": {
            "type": [
              "string",
              "null"
            ],
            "pattern": "^[a-z0-9][a-z0-9-]{0,31}$",
            "description": "A configured broker's name, or null to clear the override."
          }
        },
        "additionalProperties": false
      },
      "RecordingSettingInput": {
        "type": "object",
        "properties": {
          "mode": {
            "type": "string",
            "enum": [
              "off",
              "continuous",
              "on_demand"
            ]
          },
          "durationSeconds": {
            "type": "integer",
            "minimum": 10,
            "maximum": 86400,
            "description": "How long on_demand records (default 3600); the other modes ignore it."
          },
          "quotaBytes": {
            "type": "integer",
            "minimum": 1048576,
            "maximum": 1125899906842624
          },
          "maxAgeDays": {
            "type": "integer",
            "minimum": 1,
            "maximum": 36500
          }
        },
        "required": [
          "mode"
        ],
        "additionalProperties": false
      },
      "RecordingSetting": {
        "type": "object",
        "properties": {
          "device": {
            "type": "string"
          },
          "mode": {
            "type": "string",
            "enum": [
              "off",
              "continuous",
              "on_demand"
            ]
          },
          "until": {
            "type": [
              "string",
              "null"
            ]
          },
          "quotaBytes": {
            "type": [
              "integer",
              "null"
            ]
          },
          "maxAgeDays": {
            "type": [
              "integer",
              "null"
            ]
          },
          "updatedAt": {
            "type": [
              "string",
              "null"
            ]
          },
          "updatedBy": {
            "type": [
              "string",
              "null"
            ]
          },
          "bytes": {
            "type": "integer",
            "minimum": 0
          },
          "segments": {
            "type": "integer",
            "minimum": 0
          },
          "oldestStartedAt": {
            "type": [
              "string",
              "null"
            ]
          },
          "deletions": {
            "type": "object",
            "additionalProperties": {
              "type": "integer"
            },
            "description": "Deleted segments by reason: age, device_quota, quota, floor, manual."
          }
        },
        "required": [
          "device",
          "mode",
          "until",
          "quotaBytes",
          "maxAgeDays",
          "updatedAt",
          "updatedBy",
          "bytes",
          "segments",
          "oldestStartedAt",
          "deletions"
        ],
        "additionalProperties": false
      },
      "RecordingStorage": {
        "type": "object",
        "properties": {
          "bytes": {
            "type": "integer",
            "minimum": 0
          },
          "segments": {
            "type": "integer",
            "minimum": 0
          },
          "oldestStartedAt": {
            "type": [
              "string",
              "null"
            ]
          },
          "deletions": {
            "type": "object",
            "additionalProperties": {
              "type": "integer"
            }
          },
          "freeBytes": {
            "type": [
              "integer",
              "null"
            ]
          },
          "floorBytes": {
            "type": [
              "integer",
              "null"
            ]
          }
        },
        "required": [
          "bytes",
          "segments",
          "oldestStartedAt",
          "deletions",
          "freeBytes",
          "floorBytes"
        ],
        "additionalProperties": false
      },
      "Error": {
        "type": "object",
        "properties": {
          "error": {
            "type": "object",
            "properties": {
              "code": {
                "type": "string"
              },
              "message": {
                "type": "string"
              },
              "requestId": {
                "type": "string"
              }
            },
            "required": [
              "code",
              "message",
              "requestId"
            ],
            "additionalProperties": false
          }
        },
        "required": [
          "error"
        ],
        "additionalProperties": false
      },
      "Role": {
        "type": "string",
        "enum": [
          "admin",
          "operator",
          "viewer"
        ]
      },
      "Tokens": {
        "type": "object",
        "properties": {
          "accessToken": {
            "type": "string"
          },
          "tokenType": {
            "type": "string",
            "enum": [
              "Bearer"
            ]
          },
          "expiresIn": {
            "type": "integer"
          },
          "refreshToken": {
            "type": "string"
          },
          "role": {
            "$ref": "#/components/schemas/Role"
          },
          "mustChangePassword": {
            "type": "boolean",
            "description": "True after an admin's password reset until the user changes the password; until then every route except /me, /me/password and /auth/* answers 403 password_change_required."
          }
        },
        "required": [
          "accessToken",
          "tokenType",
          "expiresIn",
          "refreshToken",
          "role",
          "mustChangePassword"
        ],
        "additionalProperties": false
      },
      "LoginRequest": {
        "type": "object",
        "properties": {
          "username": {
            "type": "string"
          },
          "password": {
            "type": "string"
          }
        },
        "required": [
          "username",
          "password"
        ],
        "additionalProperties": false
      },
      "RefreshRequest": {
        "type": "object",
        "properties": {
          "refreshToken": {
            "type": "string",
            "minLength": 1,
            "maxLength": 128
          }
        },
        "required": [
          "refreshToken"
        ],
        "additionalProperties": false
      },
      "Me": {
        "type": "object",
        "properties": {
          "kind": {
            "type": "string",
            "enum": [
              "user",
              "api_key"
            ]
          },
          "id": {
            "type": "string"
          },
          "name": {
            "type": "string"
          },
          "role": {
            "$ref": "#/components/schemas/Role"
          },
          "mustChangePassword": {
            "type": "boolean",
            "description": "True after an admin's password reset until the user changes the password; until then every route except /me, /me/password and /auth/* answers 403 password_change_required."
          }
        },
        "required": [
          "kind",
          "id",
          "name",
          "role",
          "mustChangePassword"
        ],
        "additionalProperties": false
      },
      "User": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string",
            "format": "uuid"
          },
          "username": {
            "type": "string"
          },
          "role": {
            "$ref": "#/components/schemas/Role"
          },
          "createdAt": {
            "type": "string",
            "format": "date-time"
          },
          "disabled": {
            "type": "boolean"
          },
          "mustChangePassword": {
            "type": "boolean",
            "description": "True after an admin's password reset until the user changes the password; until then every route except /me, /me/password and /auth/* answers 403 password_change_required."
          }
        },
        "required": [
          "id",
          "username",
          "role",
          "createdAt",
          "disabled",
          "mustChangePassword"
        ],
        "additionalProperties": false
      },
      "UserList": {
        "type": "object",
        "properties": {
          "items": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/User"
            }
          }
        },
        "required": [
          "items"
        ],
        "additionalProperties": false
      },
      "CreateUser": {
        "type": "object",
        "properties": {
          "username": {
            "type": "string",
            "pattern": "^[a-z0-9][a-z0-9._-]{0,62}$"
          },
          "password": {
            "type": "string",
            "minLength": 12,
            "maxLength": 72
          },
          "role": {
            "$ref": "#/components/schemas/Role"
          }
        },
        "required": [
          "username",
          "password",
          "role"
        ],
        "additionalProperties": false
      },
      "UpdateUser": {
        "type": "object",
        "properties": {
          "role": {
            "$ref": "#/components/schemas/Role"
          },
          "disabled": {
            "type": "boolean"
          }
        },
        "additionalProperties": false,
        "description": "Either change revokes the user's refresh tokens.",
        "minProperties": 1
      },
      "APIKey": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string"
          },
          "name": {
            "type": "string"
          },
          "role": {
            "$ref": "#/components/schemas/Role"
          },
          "createdBy": {
            "type": "string"
          },
          "createdAt": {
            "type": "string",
            "format": "date-time"
          },
          "expiresAt": {
            "type": "string",
            "format": "date-time"
          },
          "revoked": {
            "type": "boolean"
          },
          "lastUsedAt": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          }
        },
        "required": [
          "id",
          "name",
          "role",
          "createdBy",
          "createdAt",
          "expiresAt",
          "revoked"
        ],
        "additionalProperties": false
      },
      "APIKeyList": {
        "type": "object",
        "properties": {
          "items": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/APIKey"
            }
          }
        },
        "required": [
          "items"
        ],
        "additionalProperties": false
      },
      "CreateAPIKey": {
        "type": "object",
        "properties": {
          "name": {
            "type": "string",
            "minLength": 1,
            "maxLength": 100,
            "pattern": "\\S",
            "description": "1-100 characters (code points), not only spaces."
          },
          "role": {
            "$ref": "#/components/schemas/Role"
          },
          "expiresAt": {
            "type": "string",
            "format": "date-time",
            "description": "Between one minute and 400 days from now; otherwise 422."
          }
        },
        "required": [
          "name",
          "role",
          "expiresAt"
        ],
        "additionalProperties": false
      },
      "CreatedAPIKey": {
        "type": "object",
        "properties": {
          "key": {
            "$ref": "#/components/schemas/APIKey"
          },
          "secret": {
            "type": "string",
            "description": "opk_{id}_{secret}; shown only here."
          }
        },
        "required": [
          "key",
          "secret"
        ],
        "additionalProperties": false
      },
      "Device": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string"
          },
          "kind": {
            "type": "string",
            "enum": [
              "meter",
              "camera"
            ]
          },
          "name": {
            "type": [
              "string",
              "null"
            ]
          },
          "tags": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "metadata": {
            "type": "object"
          },
          "status": {
            "type": "string",
            "enum": [
              "unknown",
              "online",
              "offline",
              "revoked",
              "decommissioned"
            ]
          },
          "statusChangedAt": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          },
          "lastSeen": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          },
          "version": {
            "type": [
              "string",
              "null"
            ]
          },
          "bufferDepth": {
            "type": [
              "integer",
              "null"
            ]
          },
          "dropped": {
            "type": [
              "integer",
              "null"
            ]
          },
          "createdAt": {
            "type": "string",
            "format": "date-time"
          },
          "revokedAt": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          },
          "decommissionedAt": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          },
          "certificateExpiresAt": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          },
          "certificateInUse": {
            "description": "Serial (lower-case hex) of the certificate the device's agent last reported connecting with, in its state message; null until it reports one.",
            "type": [
              "string",
              "null"
            ],
            "pattern": "^[0-9a-f]{1,64}$"
          },
          "certificateInUseExpiresAt": {
            "description": "notAfter of that certificate, as the agent reported it.",
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          }
        },
        "required": [
          "id",
          "kind",
          "tags",
          "metadata",
          "status",
          "createdAt"
        ],
        "additionalProperties": false
      },
      "DevicePage": {
        "type": "object",
        "properties": {
          "items": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Device"
            }
          },
          "nextCursor": {
            "type": [
              "string",
              "null"
            ]
          }
        },
        "required": [
          "items",
          "nextCursor"
        ],
        "additionalProperties": false
      },
      "DevicePatch": {
        "type": "object",
        "properties": {
          "name": {
            "type": [
              "string",
              "null"
            ],
            "minLength": 1,
            "maxLength": 100,
            "pattern": "^[^\\u0000-\\u001F\\u007F-\\u009F]*$",
            "description": "1-100 characters (code points), no control characters; null clears it."
          },
          "tags": {
            "type": "array",
            "maxItems": 32,
            "items": {
              "type": "string",
              "pattern": "^[a-z0-9][a-z0-9:._-]{0,62}$"
            },
            "description": "Replaces the tags; duplicates collapse."
          },
          "metadata": {
            "type": "object",
            "description": "Replaces the metadata; at most 8 KiB as JSON."
          }
        },
        "additionalProperties": false,
        "description": "Only these fields can change. Any other field is refused with 422 read_only_field.",
        "minProperties": 1
      },
      "RawReading": {
        "type": "object",
        "properties": {
          "ts": {
            "type": "string",
            "format": "date-time"
          },
          "value": {
            "type": "number"
          }
        },
        "required": [
          "ts",
          "value"
        ],
        "additionalProperties": false
      },
      "Aggregate": {
        "type": "object",
        "properties": {
          "start": {
            "type": "string",
            "format": "date-time"
          },
          "avg": {
            "type": "number"
          },
          "min": {
            "type": "number"
          },
          "max": {
            "type": "number"
          },
          "count": {
            "type": "integer"
          }
        },
        "required": [
          "start",
          "avg",
          "min",
          "max",
          "count"
        ],
        "additionalProperties": false
      },
      "ReadingsPage": {
        "type": "object",
        "properties": {
          "device": {
            "type": "string"
          },
          "metric": {
            "type": "string"
          },
          "bucket": {
            "type": "string",
            "enum": [
              "raw",
              "1m",
              "1h",
              "1d"
            ]
          },
          "items": {
            "type": "array",
            "description": "RawReading items for bucket=raw, Aggregate items otherwise.",
            "items": {
              "type": "object"
            }
          },
          "nextCursor": {
            "type": [
              "string",
              "null"
            ]
          }
        },
        "required": [
          "device",
          "metric",
          "bucket",
          "items"
        ],
        "additionalProperties": false
      },
      "LatestReading": {
        "type": "object",
        "properties": {
          "device": {
            "type": "string"
          },
          "metric": {
            "type": "string"
          },
          "ts": {
            "type": "string",
            "format": "date-time"
          },
          "value": {
            "type": "number"
          }
        },
        "required": [
          "device",
          "metric",
          "ts",
          "value"
        ],
        "additionalProperties": false
      },
      "LatestReadings": {
        "type": "object",
        "properties": {
          "items": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/LatestReading"
            }
          }
        },
        "required": [
          "items"
        ],
        "additionalProperties": false
      },
      "Command": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string"
          },
          "device": {
            "type": "string"
          },
          "name": {
            "type": "string"
          },
          "args": {
            "type": "object"
          },
          "status": {
            "type": "string",
            "enum": [
              "queued",
              "sent",
              "succeeded",
              "failed",
              "expired"
            ]
          },
          "createdAt": {
            "type": "string",
            "format": "date-time"
          },
          "createdBy": {
            "type": "string"
          },
          "expiresAt": {
            "type": "string",
            "format": "date-time"
          },
          "sentAt": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          },
          "finishedAt": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          },
          "output": {
            "type": [
              "object",
              "array",
              "string",
              "number",
              "boolean",
              "null"
            ]
          },
          "errorCode": {
            "type": [
              "string",
              "null"
            ]
          },
          "errorMessage": {
            "type": [
              "string",
              "null"
            ]
          }
        },
        "required": [
          "id",
          "device",
          "name",
          "args",
          "status",
          "createdAt",
          "createdBy",
          "expiresAt"
        ],
        "additionalProperties": false
      },
      "CommandPage": {
        "type": "object",
        "properties": {
          "items": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Command"
            }
          },
          "nextCursor": {
            "type": [
              "string",
              "null"
            ]
          }
        },
        "required": [
          "items",
          "nextCursor"
        ],
        "additionalProperties": false
      },
      "SendCommand": {
        "type": "object",
        "properties": {
          "name": {
            "type": "string",
            "enum": [
              "ping",
              "set_interval",
              "collect_now",
              "start_stream",
              "stop_stream",
              "restart_agent"
            ]
          },
          "args": {
            "type": "object",
            "description": "At most 4 KiB as JSON."
          },
          "ttlSeconds": {
            "type": "integer",
            "minimum": 10,
            "maximum": 86400
          }
        },
        "required": [
          "name"
        ],
        "additionalProperties": false
      },
      "StreamRequest": {
        "type": "object",
        "properties": {
          "args": {
            "type": "object",
            "description": "At most 4 KiB as JSON."
          }
        },
        "additionalProperties": false
      },
      "LiveStartRequest": {
        "type": "object",
        "properties": {
          "source": {
            "type": "string",
            "description": "The agent's stream source; default live.default_source."
          }
        },
        "additionalProperties": false
      },
      "LiveView": {
        "type": "object",
        "properties": {
          "device": {
            "type": "string"
          },
          "mountpoint": {
            "type": "integer",
            "description": "The Janus streaming mountpoint to watch."
          },
          "janusPath": {
            "type": "string",
            "description": "Where janus.js talks to Janus through the aggregator."
          },
          "startedAt": {
            "type": "string",
            "format": "date-time"
          },
          "startedBy": {
            "type": "string"
          },
          "reused": {
            "type": "boolean"
          },
          "viewers": {
            "type": [
              "integer",
              "null"
            ],
            "description": "Browsers watching now, as Janus counts them (GET only; null otherwise or when Janus does not answer)."
          }
        },
        "required": [
          "device",
          "mountpoint",
          "janusPath",
          "startedAt",
          "startedBy",
          "reused",
          "viewers"
        ],
        "additionalProperties": false
      },
      "JanusMessage": {
        "type": "object",
        "description": "A Janus API message (see Janus's REST API); relayed unchanged apart from the API secret.",
        "properties": {
          "janus": {
            "type": "string"
          }
        }
      },
      "StreamResult": {
        "type": "object",
        "properties": {
          "command": {
            "$ref": "#/components/schemas/Command"
          },
          "offer": {
            "type": [
              "string",
              "null"
            ],
            "description": "The agent's SDP offer (start only)."
          }
        },
        "required": [
          "command",
          "offer"
        ],
        "additionalProperties": false
      },
      "Certificate": {
        "type": "object",
        "properties": {
          "serial": {
            "type": "string"
          },
          "subject": {
            "type": "string"
          },
          "purpose": {
            "type": "string"
          },
          "notBefore": {
            "type": "string",
            "format": "date-time"
          },
          "notAfter": {
            "type": "string",
            "format": "date-time"
          },
          "issuedAt": {
            "type": "string",
            "format": "date-time"
          },
          "revokedAt": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          }
        },
        "required": [
          "serial",
          "subject",
          "purpose",
          "notBefore",
          "notAfter",
          "issuedAt",
          "revokedAt"
        ],
        "additionalProperties": false
      },
      "CertificateList": {
        "type": "object",
        "properties": {
          "items": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Certificate"
            }
          }
        },
        "required": [
          "items"
        ],
        "additionalProperties": false
      },
      "EnrollmentToken": {
        "type": "object",
        "properties": {
          "device": {
            "type": "string"
          },
          "createdAt": {
            "type": "string",
            "format": "date-time"
          },
          "expiresAt": {
            "type": "string",
            "format": "date-time"
          },
          "usedAt": {
            "type": [
              "string",
              "null"
            ],
            "format": "date-time"
          },
          "usedSerial": {
            "type": [
              "string",
              "null"
            ]
          }
        },
        "required": [
          "device",
          "createdAt",
          "expiresAt",
          "usedAt",
          "usedSerial"
        ],
        "additionalProperties": false
      },
      "EnrollmentTokenList": {
        "type": "object",
        "properties": {
          "items": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/EnrollmentToken"
            }
          }
        },
        "required": [
          "items"
        ],
        "additionalProperties": false
      },
      "AuditEntry": {
        "type": "object",
        "properties": {
          "id": {
            "type": "integer"
          },
          "at": {
            "type": "string",
            "format": "date-time"
          },
          "actor": {
            "type": "string",
            "description": "A user name, an API key id, cli:{unix user}, or anonymous."
          },
          "action": {
            "type": "string"
          },
          "target": {
            "type": [
              "string",
              "null"
            ]
          },
          "details": {
            "type": "object",
            "description": "actorKind, sourceIp, requestId and the change's own fields."
          }
        },
        "required": [
          "id",
          "at",
          "actor",
          "action",
          "details"
        ],
        "additionalProperties": false
      },
      "RejectedMessage": {
        "type": "object",
        "properties": {
          "id": {
            "type": "integer"
          },
          "at": {
            "type": "string",
            "format": "date-time"
          },
          "device": {
            "type": "string"
          },
          "topic": {
            "type": "string"
          },
          "code": {
            "type": "string",
            "description": "database_refused."
          },
          "sqlstate": {
            "type": [
              "string",
              "null"
            ],
            "description": "The SQLSTATE PostgreSQL answered, e.g. 22P05."
          },
          "excerpt": {
            "type": "string",
            "description": "The message re-encoded as JSON, cut to at most 1,024 bytes."
          }
        },
        "required": [
          "id",
          "at",
          "device",
          "topic",
          "code",
          "sqlstate",
          "excerpt"
        ],
        "additionalProperties": false
      },
      "RejectedMessagePage": {
        "type": "object",
        "properties": {
          "items": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/RejectedMessage"
            }
          },
          "nextCursor": {
            "type": [
              "string",
              "null"
            ]
          }
        },
        "required": [
          "items",
          "nextCursor"
        ],
        "additionalProperties": false
      },
      "DeviceEvent": {
        "type": "object",
        "description": "One stored event a device reported.",
        "properties": {
          "id": {
            "type": "integer"
          },
          "ts": {
            "type": "string",
            "format": "date-time",
            "description": "When the device says it happened."
          },
          "kind": {
            "type": "string",
            "pattern": "^[a-z][a-z0-9_]{0,63}$"
          },
          "data": {
            "description": "What the device sent with it (stream_stats: loss, jitter, RTT, bitrate...)."
          },
          "receivedAt": {
            "type": "string",
            "format": "date-time"
          }
        },
        "required": [
          "id",
          "ts",
          "kind",
          "data",
          "receivedAt"
        ],
        "additionalProperties": false
      },
      "DeviceEventsPage": {
        "type": "object",
        "properties": {
          "items": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/DeviceEvent"
            }
          },
          "nextCursor": {
            "type": [
              "string",
              "null"
            ]
          }
        },
        "required": [
          "items",
          "nextCursor"
        ],
        "additionalProperties": false
      },
      "DeviceEventEvent": {
        "type": "object",
        "description": "`event: device.event`: a device's event was stored (see GET /devices/{id}/events). data is null and truncated true when its JSON exceeds 4000 bytes.",
        "required": [
          "type",
          "device",
          "id",
          "kind",
          "at",
          "data",
          "truncated"
        ],
        "additionalProperties": false,
        "properties": {
          "type": {
            "type": "string",
            "enum": [
              "device.event"
            ]
          },
          "device": {
            "type": "string",
            "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"
          },
          "id": {
            "type": "integer"
          },
          "kind": {
            "type": "string",
            "pattern": "^[a-z][a-z0-9_]{0,63}$"
          },
          "at": {
            "type": "string",
            "format": "date-time",
            "description": "The event's time (ts)."
          },
          "data": {
            "description": "The event's data, or null when truncated."
          },
          "truncated": {
            "type": "boolean"
          }
        }
      },
      "AuditPage": {
        "type": "object",
        "properties": {
          "items": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/AuditEntry"
            }
          },
          "nextCursor": {
            "type": [
              "string",
              "null"
            ]
          }
        },
        "required": [
          "items",
          "nextCursor"
        ],
        "additionalProperties": false
      },
      "CreateEnrollmentToken": {
        "type": "object",
        "properties": {
          "device": {
            "type": "string",
            "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"
          },
          "kind": {
            "type": "string",
            "enum": [
              "meter",
              "camera"
            ],
            "description": "Defaults to meter."
          },
          "ttlSeconds": {
            "type": "integer",
            "minimum": 60,
            "maximum": 2592000,
            "description": "Defaults to identity.token_ttl_seconds."
          }
        },
        "required": [
          "device"
        ],
        "additionalProperties": false
      },
      "CreatedEnrollmentToken": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string",
            "pattern": "^[0-9a-f]{64}$"
          },
          "device": {
            "type": "string"
          },
          "kind": {
            "type": "string",
            "enum": [
              "meter",
              "camera"
            ]
          },
          "token": {
            "type": "string",
            "description": "opt1.{device}.{secret}.{ca-fingerprint}; shown only here."
          },
          "expiresAt": {
            "type": "string",
            "format": "date-time"
          },
          "enrollCommand": {
            "type": "string"
          }
        },
        "required": [
          "id",
          "device",
          "kind",
          "token",
          "expiresAt",
          "enrollCommand"
        ],
        "additionalProperties": false
      },
      "CertificateRevocation": {
        "type": "object",
        "properties": {
          "device": {
            "type": "string"
          },
          "revokedSerials": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "crlEntries": {
            "type": "integer"
          },
          "sessionEnded": {
            "type": "boolean"
          }
        },
        "required": [
          "device",
          "revokedSerials",
          "crlEntries",
          "sessionEnded"
        ],
        "additionalProperties": false
      },
      "DeviceStatusEvent": {
        "type": "object",
        "description": "`event: device.status`: a device went online or offline, or was decommissioned.",
        "required": [
          "type",
          "device",
          "status",
          "at"
        ],
        "additionalProperties": false,
        "properties": {
          "type": {
            "type": "string",
            "enum": [
              "device.status"
            ]
          },
          "device": {
            "type": "string",
            "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"
          },
          "status": {
            "type": "string",
            "enum": [
              "unknown",
              "online",
              "offline",
              "decommissioned"
            ]
          },
          "at": {
            "type": "string",
            "format": "date-time",
            "description": "When the status changed."
          }
        }
      },
      "CommandStatusEvent": {
        "type": "object",
        "description": "`event: command.status`: a command changed state (stream start/stop are the start_stream and stop_stream commands).",
        "required": [
          "type",
          "device",
          "command",
          "name",
          "status",
          "errorCode",
          "at"
        ],
        "additionalProperties": false,
        "properties": {
          "type": {
            "type": "string",
            "enum": [
              "command.status"
            ]
          },
          "device": {
            "type": "string",
            "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"
          },
          "command": {
            "type": "string"
          },
          "name": {
            "type": "string"
          },
          "status": {
            "type": "string",
            "enum": [
              "queued",
              "sent",
              "succeeded",
              "failed",
              "expired"
            ]
          },
          "errorCode": {
            "type": [
              "string",
              "null"
            ]
          },
          "at": {
            "type": "string",
            "format": "date-time"
          }
        }
      },
      "ChangePassword": {
        "type": "object",
        "properties": {
          "currentPassword": {
            "type": "string",
            "minLength": 1,
            "maxLength": 72
          },
          "newPassword": {
            "type": "string",
            "minLength": 12,
            "maxLength": 72,
            "description": "12 to 72 characters (Unicode code points); must differ from currentPassword."
          }
        },
        "required": [
          "currentPassword",
          "newPassword"
        ],
        "additionalProperties": false
      },
      "PasswordReset": {
        "type": "object",
        "properties": {
          "oneTimePassword": {
            "type": "string",
            "description": "Shown once. The user signs in with it and must then change it."
          }
        },
        "required": [
          "oneTimePassword"
        ],
        "additionalProperties": false
      }
    },
    "responses": {
      "BadRequest": {
        "description": "Invalid input: invalid_json, invalid_parameter, unknown_parameter, invalid_cursor.",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "Unauthorized": {
        "description": "unauthenticated, invalid_token, token_expired, invalid_credentials or refresh_token_reused.",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "Forbidden": {
        "description": "forbidden: the role is too low (or an API key on a route only a signed-in user may call); password_change_required: the user signed in with a one-time password and must change it first (POST /me/password).",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "NotFound": {
        "description": "not_found (or unknown_metric for a metric the device has no readings of).",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "MethodNotAllowed": {
        "description": "method_not_allowed: the path exists, the method does not; Allow lists the methods it has.",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        },
        "headers": {
          "Allow": {
            "description": "The methods this path serves, comma-separated.",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        }
      },
      "Conflict": {
        "description": "conflict.",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "TooLarge": {
        "description": "body_too_large.",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "UnsupportedMediaType": {
        "description": "unsupported_media_type: send application/json.",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "Unprocessable": {
        "description": "validation_failed or read_only_field.",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "RateLimited": {
        "description": "rate_limited.",
        "headers": {
          "Retry-After": {
            "description": "Seconds to wait.",
            "schema": {
              "type": "integer"
            }
          }
        },
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "ServerError": {
        "description": "internal_error.",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "BadGateway": {
        "description": "command_failed: the agent failed the command, or it expired.",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "Unavailable": {
        "description": "service_unavailable: the database cannot be reached.",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      }
    },
    "securitySchemes": {
      "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT (ES256) or API key opk_\u2026"
      },
      "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key"
      }
    }
  }
}
"""#
}
