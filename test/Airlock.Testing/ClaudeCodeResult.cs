using System.Text.Json;

namespace Airlock.Testing;

/// <summary>What one Claude Code run produced. With <c>--output-format json</c>, stdout holds one result object that is parsed here.</summary>
public sealed record ClaudeCodeResult
{
    public required int ExitCode { get; init; }

    public required string StandardOutput { get; init; }

    public required string StandardError { get; init; }

    public required TimeSpan Elapsed { get; init; }

    /// <summary>True when the run hit its timeout and the process tree was killed.</summary>
    public required bool TimedOut { get; init; }

    /// <summary>The <c>result</c> field: the final assistant text.</summary>
    public string? ResultText { get; init; }

    /// <summary>The <c>is_error</c> field.</summary>
    public bool? IsError { get; init; }

    /// <summary>The <c>subtype</c> field (<c>success</c>, <c>error_during_execution</c>, <c>error_max_turns</c>…).</summary>
    public string? Subtype { get; init; }

    public string? SessionId { get; init; }

    public int? NumTurns { get; init; }

    /// <summary>The <c>api_error_status</c> field: the HTTP status of the API error that ended the run, if any.</summary>
    public int? ApiErrorStatus { get; init; }

    /// <summary>A one-paragraph summary for assertion messages (exit code, timing and the tail of both streams).</summary>
    public string Describe()
        => $"exit {ExitCode}{(TimedOut ? " (timed out)" : "")} after {Elapsed.TotalSeconds:0.0} s; "
            + $"stdout: {Tail(StandardOutput)}; stderr: {Tail(StandardError)}";

    /// <summary>Builds a result, reading the fields of a JSON result object on stdout when there is one.</summary>
    public static ClaudeCodeResult From(int exitCode, string standardOutput, string standardError, TimeSpan elapsed, bool timedOut)
    {
        var result = new ClaudeCodeResult
        {
            ExitCode = exitCode,
            StandardOutput = standardOutput,
            StandardError = standardError,
            Elapsed = elapsed,
            TimedOut = timedOut,
        };

        var json = FindResultObject(standardOutput);
        if (json is not { } root)
        {
            return result;
        }

        return result with
        {
            ResultText = root.TryGetProperty("result", out var text) && text.ValueKind == JsonValueKind.String ? text.GetString() : null,
            IsError = root.TryGetProperty("is_error", out var isError) && isError.ValueKind is JsonValueKind.True or JsonValueKind.False ? isError.GetBoolean() : null,
            Subtype = root.TryGetProperty("subtype", out var subtype) && subtype.ValueKind == JsonValueKind.String ? subtype.GetString() : null,
            SessionId = root.TryGetProperty("session_id", out var session) && session.ValueKind == JsonValueKind.String ? session.GetString() : null,
            NumTurns = root.TryGetProperty("num_turns", out var turns) && turns.ValueKind == JsonValueKind.Number ? turns.GetInt32() : null,
            ApiErrorStatus = root.TryGetProperty("api_error_status", out var status) && status.ValueKind == JsonValueKind.Number ? status.GetInt32() : null,
        };
    }

    // json mode prints one object; stream-json prints one per line and ends with the result object.
    private static JsonElement? FindResultObject(string standardOutput)
    {
        var lines = standardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        for (var i = lines.Length - 1; i >= 0; i--)
        {
            if (!lines[i].StartsWith('{'))
            {
                continue;
            }

            try
            {
                using var document = JsonDocument.Parse(lines[i]);
                if (document.RootElement.ValueKind == JsonValueKind.Object
                    && document.RootElement.TryGetProperty("type", out var type)
                    && type.ValueEquals("result"))
                {
                    return document.RootElement.Clone();
                }
            }
            catch (JsonException)
            {
                // Not a JSON line: keep looking.
            }
        }

        return null;
    }

    private static string Tail(string text)
    {
        const int Keep = 1500;
        var trimmed = text.Trim();
        return trimmed.Length <= Keep ? $"'{trimmed}'" : $"'…{trimmed[^Keep..]}'";
    }
}
