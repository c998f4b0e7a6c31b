using System.Text.Json;
using Airlock.ClaudeCode.Events;

namespace Airlock.Tests.ClaudeCode;

/// <summary>Optional numbers of a hook event that are not numbers are dropped, never an exception (the endpoint reads client input).</summary>
public sealed class ToolEventReadTests
{
    private const string Required = "\"id\":\"evt-00000001\",\"hook_event\":\"PostToolUse\",\"time\":\"2026-11-24T10:00:00Z\"";

    [Theory]
    [InlineData("\"duration_ms\":\"12\",\"prompt_length\":\"120\"")]
    [InlineData("\"duration_ms\":[12],\"prompt_length\":{\"n\":120}")]
    [InlineData("\"duration_ms\":-1,\"prompt_length\":-5")]
    public void Numbers_that_are_not_usable_numbers_are_left_out(string optional)
    {
        using var document = JsonDocument.Parse("{" + Required + "," + optional + "}");
        var read = ToolEvent.TryRead(document.RootElement, out var problem);
        Assert.Null(problem);
        Assert.NotNull(read);
        Assert.Null(read.DurationMs);
        Assert.Null(read.PromptLength);
    }

    [Fact]
    public void Numbers_are_read()
    {
        using var document = JsonDocument.Parse("{" + Required + ",\"duration_ms\":12.5,\"prompt_length\":120}");
        var read = ToolEvent.TryRead(document.RootElement, out _);
        Assert.NotNull(read);
        Assert.Equal(12.5, read.DurationMs);
        Assert.Equal(120, read.PromptLength);
    }
}
