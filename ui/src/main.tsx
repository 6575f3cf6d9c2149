import { render } from 'preact';
import { App } from './app';
import { initTheme } from './lib/theme';
import { installLinkHandler } from './lib/router';
import './styles.css';

initTheme();
installLinkHandler();
render(<App />, document.getElementById('app')!);
