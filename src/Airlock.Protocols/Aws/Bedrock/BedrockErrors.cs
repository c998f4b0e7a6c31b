using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Airlock.Protocols.Messages;

namespace Airlock.Protocols.Aws.Bedrock;

/// <summary>A Bedrock error as the Bedrock door returns it: HTTP status, <c>x-amzn-ErrorType</c> and the stream exception name.</summary>
/// <param name="Status">HTTP status of the JSON error response.</param>
/// <param name="ErrorType">Value of the <c>x-amzn-ErrorType</c> response header, e.g. <c>ThrottlingException</c>.</param>
/// <param name="StreamExceptionType">The <c>:exception-type</c> of the same error as an event-stream exception frame, e.g. <c>throttlingException</c>.</param>
public readonly record struct BedrockErrorShape(int Status, string ErrorType, string StreamExceptionType);

/// <summary>
/// Bedrock Runtime errors and their mapping to and from Anthropic error types. Shapes from the Bedrock Runtime API
/// reference (InvokeModel / InvokeModelWithResponseStream "Errors", ResponseStream exception members) and botocore
/// <c>bedrock-runtime/2023-09-30/service-2.json</c>: HTTP errors are <c>{"message":"…"}</c> with the type in
/// <c>x-amzn-ErrorType</c>; stream errors are exception frames whose payload is <c>{"message":"…"}</c>.
/// </summary>
public static class BedrockErrors
{
    /// <summary>Response header that names the error type of a Bedrock JSON error.</summary>
    public const string ErrorTypeHeader = "x-amzn-ErrorType";

    /// <summary>400, stream <c>validationException</c>.</summary>
    public static readonly BedrockErrorShape Validation = new(400, "ValidationException", "validationException");

    /// <summary>403: the caller may not invoke the model.</summary>
    public static readonly BedrockErrorShape AccessDenied = new(403, "AccessDeniedException", "accessDeniedException");

    /// <summary>403: the credential is unknown (what AWS returns for a bad access key or token).</summary>
    public static readonly BedrockErrorShape UnrecognizedClient = new(403, "UnrecognizedClientException", "unrecognizedClientException");

    /// <summary>404: unknown model or profile.</summary>
    public static readonly BedrockErrorShape ResourceNotFound = new(404, "ResourceNotFoundException", "resourceNotFoundException");

    /// <summary>408: the model did not answer in time; stream <c>modelTimeoutException</c>.</summary>
    public static readonly BedrockErrorShape ModelTimeout = new(408, "ModelTimeoutException", "modelTimeoutException");

    /// <summary>424: the model returned an error.</summary>
    public static readonly BedrockErrorShape ModelError = new(424, "ModelErrorException", "modelStreamErrorException");

    /// <summary>429, stream <c>throttlingException</c>.</summary>
    public static readonly BedrockErrorShape Throttling = new(429, "ThrottlingException", "throttlingException");

    /// <summary>500, stream <c>internalServerException</c>.</summary>
    public static readonly BedrockErrorShape InternalServer = new(500, "InternalServerException", "internalServerException");

    /// <summary>503, stream <c>serviceUnavailableException</c>.</summary>
    public static readonly BedrockErrorShape ServiceUnavailable = new(503, "ServiceUnavailableException", "serviceUnavailableException");

    /// <summary>The Bedrock shape for an Anthropic error type (Bedrock door: an error the gateway or a Messages upstream produced).</summary>
    public static BedrockErrorShape ForAnthropicType(string anthropicErrorType) => anthropicErrorType switch
    {
        AnthropicErrors.InvalidRequest or AnthropicErrors.RequestTooLarge => Validation,
        AnthropicErrors.Authentication => UnrecognizedClient,
        AnthropicErrors.Permission => AccessDenied,
        AnthropicErrors.NotFound => ResourceNotFound,
        AnthropicErrors.RateLimit => Throttling,
        AnthropicErrors.Overloaded => ServiceUnavailable,
        "timeout_error" => ModelTimeout,
        _ => InternalServer,
    };

    /// <summary>
    /// The Anthropic error type for a Bedrock HTTP error (Messages door in front of a Bedrock upstream). The
    /// <c>x-amzn-ErrorType</c> value wins when known (it may carry a <c>:http://…</c> suffix); otherwise the status decides.
    /// </summary>
    public static string AnthropicTypeForHttpError(int status, string? amznErrorType)
    {
        var name = amznErrorType;
        if (name is not null)
        {
            var colon = name.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0)
            {
                name = name[..colon];
            }
            var mapped = AnthropicTypeForExceptionOrNull(name);
            if (mapped is not null)
            {
                return mapped;
            }
        }
        return status switch
        {
            400 => AnthropicErrors.InvalidRequest,
            401 => AnthropicErrors.Authentication,
            403 => AnthropicErrors.Permission,
            404 => AnthropicErrors.NotFound,
            413 => AnthropicErrors.RequestTooLarge,
            429 => AnthropicErrors.RateLimit,
            503 => AnthropicErrors.Overloaded,
            _ => AnthropicErrors.Api,
        };
    }

    /// <summary>The Anthropic error type for an exception frame's <c>:exception-type</c> (any case), or <c>api_error</c>.</summary>
    public static string AnthropicTypeForException(string exceptionType) =>
        AnthropicTypeForExceptionOrNull(exceptionType) ?? AnthropicErrors.Api;

    private static string? AnthropicTypeForExceptionOrNull(string exceptionType) => exceptionType.ToUpperInvariant() switch
    {
        "VALIDATIONEXCEPTION" => AnthropicErrors.InvalidRequest,
        "ACCESSDENIEDEXCEPTION" => AnthropicErrors.Permission,
        "UNRECOGNIZEDCLIENTEXCEPTION" or "INVALIDSIGNATUREEXCEPTION" or "MISSINGAUTHENTICATIONTOKENEXCEPTION" or "EXPIREDTOKENEXCEPTION"
            => AnthropicErrors.Authentication,
        "RESOURCENOTFOUNDEXCEPTION" => AnthropicErrors.NotFound,
        "THROTTLINGEXCEPTION" or "SERVICEQUOTAEXCEEDEDEXCEPTION" => AnthropicErrors.RateLimit,
        "SERVICEUNAVAILABLEEXCEPTION" => AnthropicErrors.Overloaded,
        "MODELTIMEOUTEXCEPTION" or "MODELSTREAMERROREXCEPTION" or "MODELERROREXCEPTION" or "INTERNALSERVEREXCEPTION"
            or "MODELNOTREADYEXCEPTION" => AnthropicErrors.Api,
        _ => null,
    };

    /// <summary>The JSON body of a Bedrock error response and of an exception frame: <c>{"message":"…"}</c>.</summary>
    public static byte[] Body(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var buffer = new ArrayBufferWriter<byte>(32 + message.Length);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("message"u8, message);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Where AWS's signature-mismatch message starts quoting what it computed (Bedrock, like other SigV4 services).</summary>
    private const string SigningQuote = "The Canonical String for this request should have been";

    /// <summary>
    /// An AWS message without the canonical request and string to sign that a signature mismatch quotes: the canonical
    /// request holds the value of every signed header, the session token (<c>x-amz-security-token</c>) included, and
    /// the message is relayed to clients. What precedes the quote says all a client needs.
    /// </summary>
    public static string WithoutSigningQuote(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var quote = message.IndexOf(SigningQuote, StringComparison.Ordinal);
        return quote < 0 ? message : message[..quote].TrimEnd();
    }

    /// <summary>
    /// Reads the message of a Bedrock JSON error body (<c>message</c> or <c>Message</c>), or null when the body is not one.
    /// The result is upstream text: callers that log it should treat it as such.
    /// </summary>
    public static string? ReadMessage(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isMessage = reader.ValueTextEquals("message"u8) || reader.ValueTextEquals("Message"u8);
                reader.Read();
                if (isMessage && reader.TokenType == JsonTokenType.String)
                {
                    return WithoutSigningQuote(reader.GetString()!);
                }
                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }
        return null;
    }

    /// <summary>
    /// Converts a Bedrock HTTP error response into the Anthropic error body a Messages client expects, keeping the
    /// upstream message (or a generic one naming the status when the body is not Bedrock-shaped).
    /// </summary>
    public static byte[] ToAnthropicErrorBody(int status, string? amznErrorType, ReadOnlySpan<byte> body)
    {
        var type = AnthropicTypeForHttpError(status, amznErrorType);
        var message = ReadMessage(body) ?? $"Bedrock returned HTTP {status}";
        return AnthropicErrors.Body(type, message);
    }

    /// <summary>Reads the Anthropic error type and message of a Messages error body or SSE <c>error</c> event data.</summary>
    public static (string Type, string Message) ReadAnthropicError(ReadOnlySpan<byte> json)
    {
        var type = AnthropicErrors.Api;
        var message = "upstream error";
        try
        {
            var reader = new Utf8JsonReader(json);
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 2)
                {
                    var isType = reader.ValueTextEquals("type"u8);
                    var isMessage = reader.ValueTextEquals("message"u8);
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        if (isType)
                        {
                            type = reader.GetString()!;
                        }
                        else if (isMessage)
                        {
                            message = reader.GetString()!;
                        }
                    }
                }
            }
        }
        catch (JsonException)
        {
        }
        return (type, message);
    }

    internal static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
