import { ConnectButton } from './connect-button.component.js';

export { ConnectButton };
export default ConnectButton;

ConnectButton.define('connect-button');

declare global {
  interface HTMLElementTagNameMap {
    'connect-button': ConnectButton;
  }
}
