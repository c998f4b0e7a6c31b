using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Airlock.Testing;

/// <summary>One chat-completions call the <see cref="ScriptedOpenAi"/> received (also rejected ones).</summary>
public sealed class OpenAiCall(RecordedRequest request)
{
    public RecordedRequest Request { get; } = request;

    /// <summary>The body as JSON (a clone; null when it was not JSON).</summary>
    public JsonElement? Body { get; } = TryParse(request);

    public bool Streaming => Body is { } b && b.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;

    public string? Model => Body is { } b && b.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;

    /// <summary>The <c>messages</c> array (empty when absent).</summary>
    public IReadOnlyList<JsonElement> Messages =>
        Body is { } b && b.TryGetProperty("messages", out var m) && m.ValueKind == JsonValueKind.Array ? [.. m.EnumerateArray()] : [];

    /// <summary>The <c>tool</c> messages at the end of the conversation (how a client answers tool calls): id and text.</summary>
    public IReadOnlyList<(string ToolCallId, string Content)> TrailingToolMessages()
    {
        var result = new List<(string, string)>();
        var messages = Messages;
        for (var i = messages.Count - 1; i >= 0; i--)
        {
            var message = messages[i];
            if (message.GetProperty("role").GetString() != "tool")
            {
                // A user message may follow the tool answers (text of the same turn).
                if (result.Count == 0 && message.GetProperty("role").GetString() == "user")
                {
                    continue;
                }
                break;
            }
            result.Insert(0, (message.GetProperty("tool_call_id").GetString()!, ScriptedOpenAi.TextOf(message.GetProperty("content"))));
        }
        return result;
    }

    /// <summary>True when the conversation ends with tool answers.</summary>
    public bool AnswersToolCalls => TrailingToolMessages().Count > 0;

    private static JsonElement? TryParse(RecordedRequest request)
    {
        try
        {
            using var document = JsonDocument.Parse(request.Body);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>
/// A fake OpenAI chat-completions server (the shape vLLM, Ollama, llama.cpp and OpenAI serve) on a real Kestrel at
/// <c>http://127.0.0.1:{port}</c>. It checks what such a server checks, with OpenAI's own error texts:
/// <c>Authorization: Bearer</c> when a key is set; the path; that the body is a JSON object with only known
/// parameters ("Unrecognized request argument supplied"), a <c>model</c> it serves, a non-empty <c>messages</c> array
/// with valid roles and content parts; that every assistant <c>tool_calls</c> is followed by one <c>tool</c> message
/// per call id, and no <c>tool</c> message answers anything else; <c>function.arguments</c> strings; <c>tools</c>
/// names and schemas; <c>tool_choice</c> only with tools and naming one of them; <c>stream_options</c> only with
/// <c>stream</c>. It answers from <see cref="UpstreamReply"/> scripts: text and tool calls as a completion or as
/// chunks (usage chunk when <c>include_usage</c>, then <c>[DONE]</c>), errors in OpenAI's shape, broken and hanging
/// streams, and the raw replies of <see cref="ScriptedOpenAiReplies"/>.
/// </summary>
public sealed partial class ScriptedOpenAi : IAsyncDisposable
{
    public const string ChatCompletionsPath = "/v1/chat/completions";

    /// <summary>The key the gateway is given (through <c>api_key_env</c>) when tests use the default.</summary>
    public const string DefaultApiKey = "sk-scripted-openai-3f9b1c";

    private static readonly HashSet<string> KnownParameters = new(StringComparer.Ordinal)
    {
        "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop", "stream", "stream_options",
        "tools", "tool_choice", "parallel_tool_calls", "n", "presence_penalty", "frequency_penalty", "seed", "user",
        "response_format", "logprobs", "top_logprobs", "logit_bias", "reasoning_effort", "store", "metadata", "service_tier",
    };

    private readonly ScriptLog<OpenAiCall> _log = new();
    private readonly CancellationTokenSource _stopping = new();
    private LoopbackServer? _server;
    private int _sequence;

    /// <summary>The bearer key required; null accepts requests without (Ollama and llama.cpp run without one).</summary>
    public string? ApiKey { get; init; } = DefaultApiKey;

    /// <summary>Models served; null serves any. Others get 404 <c>model_not_found</c>.</summary>
    public IReadOnlySet<string>? Models { get; init; }

    /// <summary>Answer when no responder chose one and the queue is empty.</summary>
    public UpstreamReply DefaultReply { get; set; } = UpstreamReply.Text("Hello from the scripted OpenAI server.");

    /// <summary>Chooses the reply; null falls back to the queue, then <see cref="DefaultReply"/>.</summary>
    public Func<OpenAiCall, UpstreamReply?>? Responder { get; set; }

    /// <summary>Base address without a trailing slash (the upstream <c>url</c>; the path <c>/v1/chat/completions</c> is appended).</summary>
    public string BaseUrl { get; private set; } = "";

    public Uri BaseUri => new(BaseUrl);

    /// <summary>Every call so far, in arrival order.</summary>
    public IReadOnlyList<OpenAiCall> Calls => _log.Calls;

    /// <summary>Exceptions thrown while answering (a broken script); each also produced a 500.</summary>
    public IReadOnlyList<Exception> Failures => _log.Failures;

    /// <summary>Queues replies for the next calls the responder does not answer.</summary>
    public void Enqueue(params UpstreamReply[] replies) => _log.Enqueue(replies);

    /// <summary>
    /// A tool round trip: calls without tool answers get a call of <paramref name="toolName"/> with
    /// <paramref name="input"/>; the call that answers it gets <paramref name="finalText"/>.
    /// </summary>
    public void RespondWithToolRoundTrip(string toolName, object input, string finalText)
    {
        var toolUse = UpstreamReply.ToolUse(toolName, input);
        var text = UpstreamReply.Text(finalText);
        Responder = call => call.AnswersToolCalls ? text : toolUse;
    }

    /// <summary>Starts <paramref name="server"/> (or a default one) on a free loopback port.</summary>
    public static async Task<ScriptedOpenAi> StartAsync(ScriptedOpenAi? server = null, CancellationToken cancellationToken = default)
    {
        server ??= new ScriptedOpenAi();
        server._server = await LoopbackServer.StartAsync(server.HandleAsync, cancellationToken: cancellationToken);
        server.BaseUrl = server._server.BaseUrl;
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        _stopping.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        var token = linked.Token;
        try
        {
            var request = await LoopbackServer.ReadRequestAsync(context, Interlocked.Increment(ref _sequence), token);
            var call = new OpenAiCall(request);
            _log.Add(call);
            if (!HttpMethods.IsPost(request.Method) || request.Path != ChatCompletionsPath)
            {
                await WriteErrorAsync(context, 404, $"Unknown request URL: {request.Method} {request.Path}. Please check the URL for typos.", "invalid_request_error", "unknown_url", token);
                return;
            }
            if (ApiKey is not null && context.Request.Headers.Authorization.ToString() != "Bearer " + ApiKey)
            {
                await WriteErrorAsync(context, 401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key", token);
                return;
            }
            if (Check(call) is { } invalid)
            {
                await WriteErrorAsync(context, invalid.Status, invalid.Message, "invalid_request_error", invalid.Code, token);
                return;
            }
            await ReplyAsync(context, call, ChooseReply(call), token);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            _log.Fail(ex);
            if (!context.Response.HasStarted)
            {
                await WriteErrorAsync(context, 500, "scripted OpenAI server failed: " + ex.GetType().Name, "server_error", null, CancellationToken.None);
            }
        }
    }

    private UpstreamReply ChooseReply(OpenAiCall call)
    {
        if (Responder?.Invoke(call) is { } chosen)
        {
            return chosen;
        }
        return _log.Next(DefaultReply);
    }

    private sealed record Invalid(int Status, string Message, string? Code = null);

    /// <summary>The request checks of an OpenAI-compatible server; the first failure, or null.</summary>
    private Invalid? Check(OpenAiCall call)
    {
        if (call.Body is not { ValueKind: JsonValueKind.Object } body)
        {
            return new(400, "We could not parse the JSON body of your request.");
        }
        foreach (var property in body.EnumerateObject())
        {
            if (!KnownParameters.Contains(property.Name))
            {
                return new(400, $"Unrecognized request argument supplied: {property.Name}");
            }
        }
        if (!body.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.String || model.GetString()!.Length == 0)
        {
            return new(400, "you must provide a model parameter");
        }
        if (Models is not null && !Models.Contains(model.GetString()!))
        {
            return new(404, $"The model `{model.GetString()}` does not exist or you do not have access to it.", "model_not_found");
        }
        if (body.TryGetProperty("max_tokens", out var maxTokens) && (maxTokens.ValueKind != JsonValueKind.Number || !maxTokens.TryGetInt32(out var max) || max < 1))
        {
            return new(400, "Invalid 'max_tokens': expected an integer of at least 1.");
        }
        var streaming = body.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True;
        if (body.TryGetProperty("stream_options", out _) && !streaming)
        {
            return new(400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.");
        }
        if (body.TryGetProperty("stop", out var stop) && stop.ValueKind == JsonValueKind.Array
            && (stop.GetArrayLength() > 4 || stop.EnumerateArray().Any(s => s.ValueKind != JsonValueKind.String)))
        {
            return new(400, "Invalid 'stop': expected a string or an array of at most 4 strings.");
        }
        var toolNames = new HashSet<string>(StringComparer.Ordinal);
        if (body.TryGetProperty("tools", out var tools))
        {
            if (tools.ValueKind != JsonValueKind.Array)
            {
                return new(400, "Invalid type for 'tools': expected an array.");
            }
            var i = 0;
            foreach (var tool in tools.EnumerateArray())
            {
                if (tool.ValueKind != JsonValueKind.Object || !tool.TryGetProperty("type", out var type) || !type.ValueEquals("function")
                    || !tool.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
                {
                    return new(400, $"Invalid value for 'tools[{i}]': expected {{\"type\":\"function\",\"function\":{{…}}}}.");
                }
                if (!function.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || !ToolName().IsMatch(name.GetString()!))
                {
                    return new(400, $"Invalid 'tools[{i}].function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.");
                }
                if (function.TryGetProperty("parameters", out var parameters) && parameters.ValueKind != JsonValueKind.Object)
                {
                    return new(400, $"Invalid type for 'tools[{i}].function.parameters': expected an object.");
                }
                toolNames.Add(name.GetString()!);
                i++;
            }
        }
        if (body.TryGetProperty("tool_choice", out var choice))
        {
            if (toolNames.Count == 0)
            {
                return new(400, "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.");
            }
            var valid = choice.ValueKind == JsonValueKind.String
                ? choice.GetString() is "none" or "auto" or "required"
                : choice.ValueKind == JsonValueKind.Object && choice.TryGetProperty("function", out var f)
                    && f.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String && toolNames.Contains(n.GetString()!);
            if (!valid)
            {
                return new(400, "Invalid value for 'tool_choice': expected 'none', 'auto', 'required' or a function that is in 'tools'.");
            }
        }
        return CheckMessages(body);
    }

    private static Invalid? CheckMessages(JsonElement body)
    {
        if (!body.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            return new(400, "Missing required parameter: 'messages'.");
        }
        if (messages.GetArrayLength() == 0)
        {
            return new(400, "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.");
        }
        var pending = new List<string>();
        var afterToolCalls = false;
        var i = 0;
        foreach (var message in messages.EnumerateArray())
        {
            var at = $"messages[{i++}]";
            if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty("role", out var roleElement) || roleElement.ValueKind != JsonValueKind.String)
            {
                return new(400, $"Missing required parameter: '{at}.role'.");
            }
            var role = roleElement.GetString();
            if (role != "tool" && pending.Count > 0)
            {
                return new(400, "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. " +
                    "The following tool_call_ids did not have response messages: " + string.Join(", ", pending));
            }
            var hasContent = message.TryGetProperty("content", out var content) && content.ValueKind != JsonValueKind.Null;
            switch (role)
            {
                case "system" or "developer":
                    if (!hasContent)
                    {
                        return new(400, $"Missing required parameter: '{at}.content'.");
                    }
                    if (ContentError(content, at, allowImages: false) is { } systemError)
                    {
                        return new(400, systemError);
                    }
                    afterToolCalls = false;
                    break;
                case "user":
                    if (!hasContent)
                    {
                        return new(400, $"Missing required parameter: '{at}.content'.");
                    }
                    if (ContentError(content, at, allowImages: true) is { } userError)
                    {
                        return new(400, userError);
                    }
                    afterToolCalls = false;
                    break;
                case "assistant":
                    if (hasContent && ContentError(content, at, allowImages: false) is { } assistantError)
                    {
                        return new(400, assistantError);
                    }
                    var hasCalls = message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array && calls.GetArrayLength() > 0;
                    if (!hasContent && !hasCalls)
                    {
                        return new(400, $"Invalid value for '{at}': an assistant message needs 'content' or 'tool_calls'.");
                    }
                    if (hasCalls)
                    {
                        var j = 0;
                        foreach (var call in calls.EnumerateArray())
                        {
                            var callAt = $"{at}.tool_calls[{j++}]";
                            if (!call.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.String
                                || !call.TryGetProperty("type", out var type) || !type.ValueEquals("function")
                                || !call.TryGetProperty("function", out var function) || !function.TryGetProperty("name", out var name)
                                || name.ValueKind != JsonValueKind.String)
                            {
                                return new(400, $"Invalid value for '{callAt}': expected {{\"id\",\"type\":\"function\",\"function\":{{\"name\",\"arguments\"}}}}.");
                            }
                            if (!function.TryGetProperty("arguments", out var arguments) || arguments.ValueKind != JsonValueKind.String)
                            {
                                return new(400, $"Invalid type for '{callAt}.function.arguments': expected a string, but got {(function.TryGetProperty("arguments", out var a) ? a.ValueKind.ToString().ToLowerInvariant() : "nothing")} instead.");
                            }
                            pending.Add(id.GetString()!);
                        }
                    }
                    afterToolCalls = hasCalls;
                    break;
                case "tool":
                    if (!afterToolCalls)
                    {
                        return new(400, "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.");
                    }
                    if (!message.TryGetProperty("tool_call_id", out var toolCallId) || toolCallId.ValueKind != JsonValueKind.String)
                    {
                        return new(400, $"Missing required parameter: '{at}.tool_call_id'.");
                    }
                    if (!pending.Remove(toolCallId.GetString()!))
                    {
                        return new(400, $"Invalid parameter: '{at}.tool_call_id' does not answer a tool call of the preceding assistant message.");
                    }
                    if (!hasContent)
                    {
                        return new(400, $"Missing required parameter: '{at}.content'.");
                    }
                    if (ContentError(content, at, allowImages: false) is { } toolError)
                    {
                        return new(400, toolError);
                    }
                    break;
                default:
                    return new(400, $"Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', 'tool', and 'developer'.");
            }
        }
        if (pending.Count > 0)
        {
            return new(400, "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. " +
                "The following tool_call_ids did not have response messages: " + string.Join(", ", pending));
        }
        return null;
    }

    private static string? ContentError(JsonElement content, string at, bool allowImages)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            return null;
        }
        if (content.ValueKind != JsonValueKind.Array)
        {
            return $"Invalid type for '{at}.content': expected one of a string or array of objects.";
        }
        var k = 0;
        foreach (var part in content.EnumerateArray())
        {
            var partAt = $"{at}.content[{k++}]";
            var type = part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var t) ? t.GetString() : null;
            if (type == "text" && part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
            {
                continue;
            }
            if (allowImages && type == "image_url" && part.TryGetProperty("image_url", out var image)
                && image.TryGetProperty("url", out var url) && url.ValueKind == JsonValueKind.String
                && (url.GetString()!.StartsWith("https://", StringComparison.Ordinal) || url.GetString()!.StartsWith("http://", StringComparison.Ordinal)
                    || DataImageUrl().IsMatch(url.GetString()!)))
            {
                continue;
            }
            return $"Invalid value for '{partAt}': expected {(allowImages ? "a text or image_url part" : "a text part")}.";
        }
        return null;
    }

    private static async Task ReplyAsync(HttpContext context, OpenAiCall call, UpstreamReply reply, CancellationToken token)
    {
        if (reply.FirstByteDelay > TimeSpan.Zero)
        {
            await Task.Delay(reply.FirstByteDelay, token);
        }
        var model = call.Model ?? "scripted-model";
        var id = "chatcmpl-" + RandomNumberGenerator.GetHexString(24, lowercase: true);
        var includeUsage = call.Body is { } b && b.TryGetProperty("stream_options", out var options)
            && options.TryGetProperty("include_usage", out var include) && include.ValueKind == JsonValueKind.True;
        switch (reply)
        {
            case HangReply:
                await Task.Delay(Timeout.InfiniteTimeSpan, token);
                break;
            case ErrorReply error:
                foreach (var (name, value) in reply.ExtraHeaders)
                {
                    context.Response.Headers[name] = value;
                }
                await WriteErrorAsync(context, error.Status, error.Message, error.Type, null, token);
                break;
            case OpenAiCompletionReply raw:
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(raw.Json, token);
                break;
            case OpenAiChunksReply chunks:
                await StreamAsync(context, reply, chunks.Chunks, chunks.Done, abort: false, token);
                break;
            case TextReply text when call.Streaming:
                await StreamAsync(context, reply, TextChunks(id, model, text, includeUsage), done: true, abort: false, token);
                break;
            case TextReply text:
                await WriteCompletionAsync(context, id, model, new { role = "assistant", content = text.Content }, "stop", text.InputTokens, text.OutputTokens, token);
                break;
            case ToolUseReply tool when call.Streaming:
                await StreamAsync(context, reply, ToolChunks(id, model, tool, includeUsage), done: true, abort: false, token);
                break;
            case ToolUseReply tool:
                var callId = tool.ToolUseId ?? "call_" + RandomNumberGenerator.GetHexString(24, lowercase: true);
                await WriteCompletionAsync(context, id, model,
                    new { role = "assistant", content = (string?)null, tool_calls = new[] { new { id = callId, type = "function", function = new { name = tool.ToolName, arguments = tool.InputJson } } } },
                    "tool_calls", tool.InputTokens, tool.OutputTokens, token);
                break;
            case DieMidStreamReply die:
                var partial = TextChunks(id, model, new TextReply(die.Content, 25, 10), includeUsage);
                await StreamAsync(context, reply, [.. partial.Take(Math.Min(die.AfterEvents, partial.Count - 1))], done: false, abort: true, token);
                await Task.Delay(die.PauseBeforeAbort, token);
                context.Abort();
                break;
            default:
                throw new InvalidOperationException($"The scripted OpenAI server cannot answer with {reply.GetType().Name}.");
        }
    }

    private static List<string> TextChunks(string id, string model, TextReply text, bool includeUsage)
    {
        var chunks = new List<string> { Chunk(id, model, new { role = "assistant", content = "" }, null) };
        foreach (var piece in ScriptedOpenAiReplies.Split(text.Content, 12))
        {
            chunks.Add(Chunk(id, model, new { content = piece }, null));
        }
        chunks.Add(Chunk(id, model, new { }, "stop"));
        if (includeUsage)
        {
            chunks.Add(UsageChunk(id, model, text.InputTokens, text.OutputTokens));
        }
        return chunks;
    }

    private static List<string> ToolChunks(string id, string model, ToolUseReply tool, bool includeUsage)
    {
        var callId = tool.ToolUseId ?? "call_" + RandomNumberGenerator.GetHexString(24, lowercase: true);
        var chunks = new List<string>
        {
            Chunk(id, model, new { role = "assistant", content = (string?)null, tool_calls = new[] { new { index = 0, id = callId, type = "function", function = new { name = tool.ToolName, arguments = "" } } } }, null),
        };
        foreach (var fragment in ScriptedOpenAiReplies.Split(tool.InputJson, 9))
        {
            chunks.Add(Chunk(id, model, new { tool_calls = new[] { new { index = 0, function = new { arguments = fragment } } } }, null));
        }
        chunks.Add(Chunk(id, model, new { }, "tool_calls"));
        if (includeUsage)
        {
            chunks.Add(UsageChunk(id, model, tool.InputTokens, tool.OutputTokens));
        }
        return chunks;
    }

    private static string Chunk(string id, string model, object delta, string? finishReason) =>
        JsonSerializer.Serialize(new
        {
            id,
            @object = "chat.completion.chunk",
            created = 1_700_000_000,
            model,
            choices = new[] { new { index = 0, delta, finish_reason = finishReason } },
        });

    private static string UsageChunk(string id, string model, int promptTokens, int completionTokens) =>
        JsonSerializer.Serialize(new
        {
            id,
            @object = "chat.completion.chunk",
            created = 1_700_000_000,
            model,
            choices = Array.Empty<object>(),
            usage = new { prompt_tokens = promptTokens, completion_tokens = completionTokens, total_tokens = promptTokens + completionTokens },
        });

    private static async Task StreamAsync(HttpContext context, UpstreamReply reply, IReadOnlyList<string> chunks, bool done, bool abort, CancellationToken token)
    {
        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["x-request-id"] = "req_" + RandomNumberGenerator.GetHexString(16, lowercase: true);
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.StartAsync(token);
        for (var i = 0; i < chunks.Count; i++)
        {
            if (i > 0 && reply.EventDelay > TimeSpan.Zero)
            {
                await Task.Delay(reply.EventDelay, token);
            }
            await response.Body.WriteAsync(Encoding.UTF8.GetBytes("data: " + chunks[i] + "\n\n"), token);
            await response.Body.FlushAsync(token);
        }
        if (done && !abort)
        {
            await response.Body.WriteAsync("data: [DONE]\n\n"u8.ToArray(), token);
            await response.Body.FlushAsync(token);
        }
    }

    private static async Task WriteCompletionAsync(HttpContext context, string id, string model, object message, string finishReason, int promptTokens, int completionTokens, CancellationToken token)
    {
        context.Response.ContentType = "application/json";
        context.Response.Headers["x-request-id"] = "req_" + RandomNumberGenerator.GetHexString(16, lowercase: true);
        await context.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            id,
            @object = "chat.completion",
            created = 1_700_000_000,
            model,
            choices = new[] { new { index = 0, message, finish_reason = finishReason } },
            usage = new { prompt_tokens = promptTokens, completion_tokens = completionTokens, total_tokens = promptTokens + completionTokens },
        }), token);
    }

    /// <summary>OpenAI's error shape: <c>{"error":{"message","type","param","code"}}</c>.</summary>
    private static async Task WriteErrorAsync(HttpContext context, int status, string message, string type, string? code, CancellationToken token)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new { error = new { message, type, param = (string?)null, code } }), token);
    }

    /// <summary>Text of a message content (a string, or its text parts joined).</summary>
    internal static string TextOf(JsonElement content) => content.ValueKind switch
    {
        JsonValueKind.String => content.GetString()!,
        JsonValueKind.Array => string.Concat(content.EnumerateArray().Select(p => p.TryGetProperty("text", out var t) ? t.GetString() : "")),
        _ => "",
    };

    [GeneratedRegex("^[a-zA-Z0-9_-]{1,64}$")]
    private static partial Regex ToolName();

    [GeneratedRegex("^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=]+$")]
    private static partial Regex DataImageUrl();
}
